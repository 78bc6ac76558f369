import { Type } from 'typebox';
import { PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

export const Platform = Type.Union(
  [Type.Literal('tiktok'), Type.Literal('instagram'), Type.Literal('facebook'), Type.Literal('youtube')],
  {
    description:
      '`instagram` (professional accounts) and `facebook` (Pages) both connect through Facebook Login for Business',
  },
);

export const SocialAccount = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('social_account'),
    project_id: Type.String(),
    platform: Platform,
    platform_user_id: Type.String(),
    handle: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Literal('active'), Type.Literal('needs_reconnect'), Type.Literal('revoked')]),
    scopes: Type.Array(Type.String()),
    connected_at: Timestamp,
    token_expires_at: Type.Union([Timestamp, Type.Null()], {
      description: 'When the current access token expires (null: it does not, e.g. a Facebook Page token)',
    }),
    ads_access_expires_at: Type.Optional(
      Type.Union([Timestamp, Type.Null()], {
        description:
          'Facebook and Instagram accounts only: when the login’s user token that Meta ad deployments carry expires (about 60 days after the connect; a reconnect renews it). Null: no user token, or Meta gave no expiry',
      }),
    ),
    revoked_at: Type.Union([Timestamp, Type.Null()]),
    last_synced_at: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'SocialAccount' },
);

export const SocialPlatformInfo = Type.Object({
  platform: Platform,
  configured: Type.Boolean(),
  scopes: Type.Array(Type.String()),
});

export const ConnectBody = Type.Object(
  {
    platform: Platform,
    return_url: Type.String({
      minLength: 1,
      maxLength: 2048,
      pattern:
        '^(https://[^\\s/?#@]+|http://(localhost|127\\.0\\.0\\.1|\\[::1\\])(:[0-9]{1,5})?)([/?][^\\s#]*)?$',
      description: 'Where the browser is sent after the platform (https, or http to localhost)',
    }),
  },
  { additionalProperties: false },
);

export const ConnectResponse = Type.Object({
  authorization_url: Type.String(),
  expires_at: Timestamp,
});

export const ProjectParams = Type.Object({ projectId: PathId });
export const AccountParams = Type.Object({ socialAccountId: PathId });
export const CallbackParams = Type.Object({ platform: Platform });
export const CallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  state: Type.Optional(Type.String({ maxLength: 512 })),
  error: Type.Optional(Type.String({ maxLength: 512 })),
  error_description: Type.Optional(Type.String({ maxLength: 4096 })),
  error_reason: Type.Optional(Type.String({ maxLength: 512 })),
  scope: Type.Optional(Type.String({ maxLength: 4096 })),
  scopes: Type.Optional(Type.String({ maxLength: 4096 })),
});
export const ListAccountsQuery = Type.Object(PageQuery);
export const PostsQuery = Type.Object({ limit: PageQuery.limit });

const Count = Type.Union([Type.Integer(), Type.Null()]);
export const Post = Type.Object({
  platform_post_id: Type.String(),
  caption: Type.Union([Type.String(), Type.Null()]),
  permalink: Type.Union([Type.String(), Type.Null()]),
  published_at: Type.Union([Timestamp, Type.Null()]),
  metrics: Type.Object({ views: Count, likes: Count, comments: Count, shares: Count }),
  synced_at: Timestamp,
});
