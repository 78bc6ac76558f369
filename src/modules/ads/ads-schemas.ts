import { Type } from 'typebox';
import { PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

/** Bounds of a deployment's inputs (Meta caps ad text far above these; TikTok's ad_text is 1–100). */
export const BUDGET_MIN_CENTS = 100;
export const BUDGET_MAX_CENTS = 10_000_000;

const Text = (max: number) =>
  Type.String({
    minLength: 1,
    maxLength: max,
    pattern: '^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*\\S[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*$',
  });

const AdvertiserToken = Type.String({
  minLength: 8,
  maxLength: 512,
  pattern: '^[\\x21-\\x7e]+$',
  writeOnly: true,
  description:
    'TikTok only (required there): the advertiser access token of TikTok’s business authorization; stored encrypted, never shown, deleted when the deployment is cancelled',
});

export const CreateAdDeploymentBody = Type.Object(
  {
    platform: Type.Union([Type.Literal('meta'), Type.Literal('tiktok')]),
    social_account_id: Type.String({ minLength: 1, maxLength: 64 }),
    ad_account_id: Type.String({
      minLength: 1,
      maxLength: 40,
      description: 'Meta: `act_<digits>` or the digits; TikTok: the advertiser id (digits)',
    }),
    media_id: Type.String({ minLength: 1, maxLength: 64 }),
    headline: Text(100),
    body: Text(1000),
    daily_budget_cents: Type.Integer({ minimum: BUDGET_MIN_CENTS, maximum: BUDGET_MAX_CENTS }),
    status: Type.Literal('paused', {
      description: 'Everything is created paused; activation is the partner’s',
    }),
    advertiser_access_token: Type.Optional(AdvertiserToken),
    display_name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 40,
        pattern: '^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$',
        description: 'TikTok only: the brand name the ad shows (default: the connected account’s handle)',
      }),
    ),
    countries: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), {
        minItems: 1,
        maxItems: 25,
        uniqueItems: true,
        description: 'ISO 3166 alpha-2 countries the ad set targets (default ["US"])',
      }),
    ),
  },
  { additionalProperties: false },
);

const PlatformIds = Type.Object({
  video_id: Type.Optional(Type.String()),
  campaign_id: Type.Optional(Type.String()),
  ad_set_id: Type.Optional(Type.String()),
  creative_id: Type.Optional(Type.String()),
  ad_id: Type.Optional(Type.String()),
});

export const AdDeployment = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('ad_deployment'),
    project_id: Type.String(),
    platform: Type.Union([Type.Literal('meta'), Type.Literal('tiktok')]),
    social_account_id: Type.String(),
    ad_account_id: Type.String(),
    media_id: Type.String(),
    daily_budget_cents: Type.Integer(),
    status: Type.Union([
      Type.Literal('queued'),
      Type.Literal('creating'),
      Type.Literal('created'),
      Type.Literal('failed'),
      Type.Literal('cancelling'),
      Type.Literal('cancelled'),
    ]),
    platform_ids: PlatformIds,
    error: Type.Optional(
      Type.Object({
        code: Type.String(),
        message: Type.String(),
        platform_code: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'AdDeployment' },
);

/**
 * Retry and cancel take no body, or (TikTok) a new advertiser token: the one given may have been
 * revoked or expired, and TikTok needs a live one to resume or to delete what exists.
 */
export const TokenRenewalBody = Type.Union([
  Type.Object({ advertiser_access_token: Type.Optional(AdvertiserToken) }, { additionalProperties: false }),
  Type.Null(),
]);

export const ProjectParams = Type.Object({ projectId: PathId });
export const AdDeploymentParams = Type.Object({ adDeploymentId: PathId });
export const ListQuery = Type.Object(PageQuery, { additionalProperties: false });
