import { Type } from 'typebox';
import { PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

/** The longest caption accepted at all; each platform's own limit is checked in the service. */
export const CAPTION_MAX = 5000;

export const CreatePublicationBody = Type.Object(
  {
    media_id: Type.String({ minLength: 1, maxLength: 64 }),
    // Control characters other than tab and newline are refused (captions are shown to people).
    caption: Type.String({
      maxLength: CAPTION_MAX,
      pattern: '^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*$',
    }),
    privacy: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 40,
        pattern: '^[A-Za-z_]+$',
        description:
          'TikTok privacy level (e.g. SELF_ONLY) or YouTube privacyStatus (private, unlisted, public)',
      }),
    ),
  },
  { additionalProperties: false },
);

const Status = Type.Union([
  Type.Literal('queued'),
  Type.Literal('uploading'),
  Type.Literal('processing'),
  Type.Literal('published'),
  Type.Literal('failed'),
]);

export const Publication = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('publication'),
    project_id: Type.String(),
    social_account_id: Type.String(),
    platform: Type.String(),
    media_id: Type.String(),
    status: Status,
    platform_post_id: Type.Optional(Type.String()),
    permalink: Type.Optional(Type.String()),
    error: Type.Optional(
      Type.Object({
        code: Type.String(),
        message: Type.String(),
        platform_code: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
    created_at: Timestamp,
    updated_at: Timestamp,
    published_at: Type.Optional(Timestamp),
  },
  { $id: 'Publication' },
);

export const AccountParams = Type.Object({ socialAccountId: PathId });
export const PublicationParams = Type.Object({ publicationId: PathId });
export const ListQuery = Type.Object(PageQuery, { additionalProperties: false });
