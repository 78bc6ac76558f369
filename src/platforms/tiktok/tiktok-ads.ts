import type { EgressDataClass } from '../../egress/egress-types.ts';
import {
  type AdCheckpoint,
  type AdDeployer,
  type AdDeployRequest,
  type AdObjectKind,
  adObjectName,
} from '../ads-port.ts';
import {
  type CallContext,
  type PlatformDeps,
  PlatformError,
  type StoredCredentials,
} from '../social-platform.ts';
import { createTikTokAdsCaller, idFrom, tiktokTime } from './tiktok-ads-call.ts';
import { tiktokLocationId } from './tiktok-locations.ts';

/**
 * TikTok API for Business (Marketing API v1.3): a generated video as a disabled ad on the
 * advertiser the partner names, with the advertiser access token given with the deployment
 * (`Access-Token` header; TikTok's business authorization, not Login Kit). Every call answers HTTP
 * 200 with `{code, message, request_id, data}`: only `code: 0` is a success.
 *
 * What this relies on (TikTok's business-api SDK, tiktok/tiktok-business-api-sdk, docs/*.md):
 * - FileApi.md, AdUploadBody.md: `POST /file/video/ad/upload/` with `upload_type: UPLOAD_BY_URL`,
 *   `video_url`, `file_name` (1–100 chars; "videos under the same advertiser_id cannot have
 *   duplicated file names"); `GET /file/video/ad/info/?video_ids=[…]` (its `video_cover_url`);
 *   `GET /file/video/ad/search/` (no name filter: pages are matched on `file_name`);
 *   `POST /file/image/ad/upload/` with `UPLOAD_BY_URL`, `image_url` (the cover, `image_ids` of a
 *   SINGLE_VIDEO ad). There is no delete for library videos or images: rollback leaves them.
 * - CampaignCreateBody.md: `campaign_name`, `objective_type`, `budget_mode`; `operation_status`
 *   at create is allowlist-only and otherwise ignored ("ENABLE" by default), so the campaign is then
 *   paused with `POST /campaign/status/update/` (`DISABLE`; `DELETE` on rollback; CampaignStatusUpdateBody.md).
 * - FilteringCampaignGet.md / FilteringAdGet.md: `campaign/get/` filters by ids and creation time,
 *   not by name; `adgroup/get/` and `ad/get/` by parent ids. Look-ups list and match the name.
 * - AdgroupCreateBody.md: `adgroup_name`, `campaign_id`, `placement_type`/`placements`,
 *   `location_ids` (required; tiktok-locations.ts), `budget_mode: BUDGET_MODE_DAY` with `budget` in
 *   the account currency's main unit, `schedule_type`/`schedule_start_time` (required, UTC
 *   "YYYY-MM-DD HH:MM:SS"), `optimization_goal`, `billing_event`, `pacing`, `operation_status`.
 * - AdApi.md / AdcreateCreatives.md: `POST /ad/create/` with `creatives: [{ad_name, identity_type,
 *   identity_id, ad_format: SINGLE_VIDEO, video_id, image_ids, ad_text, operation_status}]`; an
 *   identity is required in v1.3 (`CUSTOMIZED_USER` for a non-Spark ad: `identity/create/` with a
 *   display name, `identity/get/` to find it; shared by the advertiser's deployments).
 * Error codes (TikTok's response codes, as the Events API adapter reads them; tiktok-ads-call.ts):
 * 40100 rate limit; 40104/40105 access token empty/invalid or revoked; 40001/40002 permission or
 * parameters; 50000/50002 system errors.
 *
 * Steps (one creating call each, made last, its id stored before the next; ads-port.ts): video →
 * poll info until the cover exists → cover image → identity (found or created) → campaign →
 * campaign disabled → ad group (DISABLE) → ad (DISABLE). Video, campaign, ad group and ad are named
 * `layers ad_… <kind>` and found by that name before they are created again after a crash.
 */
const VIDEO_POLL_MS = 3_000;
const SEARCH_PAGES = 10;
/** TikTok's `ad_text` and identity `display_name` limits. */
export const TIKTOK_AD_TEXT_MAX = 100;
export const TIKTOK_DISPLAY_NAME_MAX = 40;

type Listed = { data?: { list?: Record<string, unknown>[]; page_info?: { total_page?: unknown } } };
type Gettable = 'campaign' | 'ad_set' | 'ad';
const ENTITY = {
  campaign: { path: 'campaign', id: 'campaign_id', name: 'campaign_name', ids: 'campaign_ids' },
  ad_set: { path: 'adgroup', id: 'adgroup_id', name: 'adgroup_name', ids: 'adgroup_ids' },
  ad: { path: 'ad', id: 'ad_id', name: 'ad_name', ids: 'ad_ids' },
} as const;

export function createTikTokAds(deps: PlatformDeps): AdDeployer {
  const { egress } = deps;

  const call = createTikTokAdsCaller(egress);

  type R = Pick<AdDeployRequest, 'deploymentId' | 'createdAt' | 'adAccountId' | 'checkpoint'>;
  const adv = (r: R) => ({ advertiser_id: r.adAccountId });

  /** Lists `kind` under its parent (or since the deployment's creation) and matches the name / id. */
  async function lookUp(
    ctx: CallContext,
    credentials: StoredCredentials,
    r: R,
    kind: Gettable,
    by: { name: string } | { id: string },
  ): Promise<string | null> {
    const e = ENTITY[kind];
    const cp = r.checkpoint;
    let filtering: Record<string, unknown>;
    if ('id' in by) filtering = { [e.ids]: [by.id] };
    else if (kind === 'campaign')
      filtering = { creation_filter_start_time: tiktokTime(new Date(r.createdAt.getTime() - 3_600_000)) };
    else if (kind === 'ad_set') filtering = { campaign_ids: [cp.campaign_id] };
    else filtering = { adgroup_ids: [cp.ad_set_id] };
    for (let page = 1; page <= SEARCH_PAGES; page++) {
      const res = await call<Listed>(ctx, credentials, {
        method: 'GET',
        path: `/${e.path}/get/`,
        query: {
          ...adv(r),
          fields: JSON.stringify([e.id, e.name]),
          filtering: JSON.stringify(filtering),
          page: String(page),
          page_size: '1000',
        },
      });
      const hit = (res.data?.list ?? []).find((o) =>
        'id' in by ? o[e.id] === by.id : o[e.name] === by.name,
      );
      if (hit && typeof hit[e.id] === 'string') return hit[e.id] as string;
      if (page >= Number(res.data?.page_info?.total_page ?? 1)) return null;
    }
    return null;
  }

  /** The uploaded video of this deployment, found by its file name in the asset library. */
  async function findVideo(ctx: CallContext, credentials: StoredCredentials, r: R): Promise<string | null> {
    const name = adObjectName(r.deploymentId, 'video');
    for (let page = 1; page <= SEARCH_PAGES; page++) {
      const res = await call<Listed>(ctx, credentials, {
        method: 'GET',
        path: '/file/video/ad/search/',
        query: { ...adv(r), page: String(page), page_size: '100' },
      });
      const hit = (res.data?.list ?? []).find((v) => v.file_name === name && typeof v.video_id === 'string');
      if (hit) return hit.video_id as string;
      if (page >= Number(res.data?.page_info?.total_page ?? 1)) return null;
    }
    return null;
  }

  /** The id of `kind` from the checkpoint, else from a look-up by name (null: it does not exist). */
  async function existing(ctx: CallContext, credentials: StoredCredentials, r: R, kind: Gettable) {
    const known = r.checkpoint[`${kind}_id`];
    if (known) return known;
    if (kind === 'ad_set' && !r.checkpoint.campaign_id) return null;
    if (kind === 'ad' && !r.checkpoint.ad_set_id) return null;
    return lookUp(ctx, credentials, r, kind, { name: adObjectName(r.deploymentId, kind) });
  }

  async function videoInfo(ctx: CallContext, credentials: StoredCredentials, r: R, videoId: string) {
    const res = await call<Listed>(ctx, credentials, {
      method: 'GET',
      path: '/file/video/ad/info/',
      query: { ...adv(r), video_ids: JSON.stringify([videoId]) },
    });
    return (res.data?.list ?? []).find((v) => v.video_id === videoId);
  }

  async function create(
    ctx: CallContext,
    credentials: StoredCredentials,
    path: string,
    json: object,
    idKey: string,
    dataClasses: readonly EgressDataClass[],
  ): Promise<string> {
    return idFrom(await call(ctx, credentials, { method: 'POST', path, json }, dataClasses), idKey);
  }

  const setStatus = (
    ctx: CallContext,
    credentials: StoredCredentials,
    r: R,
    kind: Gettable,
    id: string,
    status: 'DISABLE' | 'DELETE',
  ) =>
    call(ctx, credentials, {
      method: 'POST',
      path: `/${ENTITY[kind].path}/status/update/`,
      json: { ...adv(r), [ENTITY[kind].ids]: [id], operation_status: status },
      idempotent: true,
    });

  const next = (checkpoint: AdCheckpoint, retryAfterMs = 0) => ({
    status: 'creating' as const,
    checkpoint,
    retryAfterMs,
  });

  async function identity(ctx: CallContext, credentials: StoredCredentials, r: AdDeployRequest) {
    const displayName = (r.displayName ?? '').slice(0, TIKTOK_DISPLAY_NAME_MAX);
    const listed = await call<{ data?: { identity_list?: Record<string, unknown>[] } }>(ctx, credentials, {
      method: 'GET',
      path: '/identity/get/',
      query: { ...adv(r), identity_type: 'CUSTOMIZED_USER', page_size: '100' },
    });
    const hit = (listed.data?.identity_list ?? []).find(
      (i) => i.display_name === displayName && typeof i.identity_id === 'string',
    );
    if (hit) return hit.identity_id as string;
    return create(
      ctx,
      credentials,
      '/identity/create/',
      { ...adv(r), display_name: displayName },
      'identity_id',
      ['post_content', 'platform_ids'],
    );
  }

  return {
    platform: 'tiktok',
    // The advertiser token carries the Marketing API's authority: the Login Kit account needs no scope.
    requiredScopes: [],
    token: 'advertiser',
    normaliseAdAccountId: (value) => (/^\d{1,30}$/.test(value) ? value : null),
    refusal({ body, countries }) {
      if (body.length > TIKTOK_AD_TEXT_MAX)
        return { param: 'body', message: `TikTok ad text is at most ${TIKTOK_AD_TEXT_MAX} characters.` };
      const unknown = countries.filter((c) => !tiktokLocationId(c));
      if (unknown.length > 0)
        return {
          param: 'countries',
          message: `TikTok ads cannot target ${unknown.join(', ')} from Layers yet.`,
        };
      return null;
    },

    async step(ctx, credentials, r) {
      const cp = r.checkpoint;
      const name = (kind: AdObjectKind) => adObjectName(r.deploymentId, kind);
      if (!cp.video_id) {
        const found = await findVideo(ctx, credentials, r);
        if (found) return next({ ...cp, video_id: found });
        const id = await create(
          ctx,
          credentials,
          '/file/video/ad/upload/',
          {
            ...adv(r),
            upload_type: 'UPLOAD_BY_URL',
            video_url: r.media.publicUrl(),
            file_name: name('video'),
          },
          'video_id',
          ['generated_media', 'platform_ids'],
        );
        return next({ ...cp, video_id: id }, VIDEO_POLL_MS);
      }
      if (!cp.video_ready) {
        const v = await videoInfo(ctx, credentials, r, cp.video_id);
        if (typeof v?.video_cover_url === 'string') return next({ ...cp, video_ready: true });
        return next(cp, VIDEO_POLL_MS);
      }
      if (!cp.creative_id) {
        // The cover (`image_ids` of a SINGLE_VIDEO ad): the video's own first frame, read now, never stored.
        const v = await videoInfo(ctx, credentials, r, cp.video_id);
        if (typeof v?.video_cover_url !== 'string')
          throw new PlatformError('transient', 'tiktok ads call failed (transient: no_cover)', {
            vendorCode: 'no_cover',
          });
        const id = await create(
          ctx,
          credentials,
          '/file/image/ad/upload/',
          {
            ...adv(r),
            upload_type: 'UPLOAD_BY_URL',
            image_url: v.video_cover_url,
            file_name: name('creative'),
          },
          'image_id',
          ['generated_media', 'platform_ids'],
        );
        return next({ ...cp, creative_id: id });
      }
      if (!cp.identity_id) return next({ ...cp, identity_id: await identity(ctx, credentials, r) });
      if (!cp.campaign_id) {
        const found = await existing(ctx, credentials, r, 'campaign');
        if (found) return next({ ...cp, campaign_id: found });
        const id = await create(
          ctx,
          credentials,
          '/campaign/create/',
          {
            ...adv(r),
            campaign_name: name('campaign'),
            objective_type: 'REACH',
            budget_mode: 'BUDGET_MODE_INFINITE',
            operation_status: 'DISABLE',
          },
          'campaign_id',
          ['ad_settings', 'platform_ids'],
        );
        return next({ ...cp, campaign_id: id });
      }
      if (!cp.campaign_disabled) {
        await setStatus(ctx, credentials, r, 'campaign', cp.campaign_id, 'DISABLE');
        return next({ ...cp, campaign_disabled: true });
      }
      if (!cp.ad_set_id) {
        const found = await existing(ctx, credentials, r, 'ad_set');
        if (found) return next({ ...cp, ad_set_id: found });
        const id = await create(
          ctx,
          credentials,
          '/adgroup/create/',
          {
            ...adv(r),
            campaign_id: cp.campaign_id,
            adgroup_name: name('ad_set'),
            placement_type: 'PLACEMENT_TYPE_NORMAL',
            placements: ['PLACEMENT_TIKTOK'],
            location_ids: r.countries.map((c) => tiktokLocationId(c) as string),
            budget_mode: 'BUDGET_MODE_DAY',
            // The account currency's main unit (25.00), where Meta takes minor units.
            budget: r.dailyBudgetCents / 100,
            schedule_type: 'SCHEDULE_FROM_NOW',
            schedule_start_time: tiktokTime(deps.now()),
            optimization_goal: 'REACH',
            billing_event: 'CPM',
            bid_type: 'BID_TYPE_NO_BID',
            pacing: 'PACING_MODE_SMOOTH',
            operation_status: 'DISABLE',
          },
          'adgroup_id',
          ['ad_settings', 'platform_ids'],
        );
        return next({ ...cp, ad_set_id: id });
      }
      if (!cp.ad_id) {
        const found = await existing(ctx, credentials, r, 'ad');
        if (found) return { status: 'created', checkpoint: { ...cp, ad_id: found } };
        const id = await create(
          ctx,
          credentials,
          '/ad/create/',
          {
            ...adv(r),
            adgroup_id: cp.ad_set_id,
            creatives: [
              {
                ad_name: name('ad'),
                identity_type: 'CUSTOMIZED_USER',
                identity_id: cp.identity_id,
                ad_format: 'SINGLE_VIDEO',
                video_id: cp.video_id,
                image_ids: [cp.creative_id],
                ad_text: r.body,
                operation_status: 'DISABLE',
              },
            ],
          },
          'ad_id',
          ['post_content', 'ad_settings', 'platform_ids'],
        );
        return { status: 'created', checkpoint: { ...cp, ad_id: id } };
      }
      return { status: 'created', checkpoint: cp };
    },

    async rollback(ctx, credentials, r) {
      // Look-ups first (children need their parents' ids), then deletes newest first. A deleted
      // object is no longer listed (and cannot change status again): what is not found is done.
      let cp: AdCheckpoint = r.checkpoint;
      const ids: Partial<Record<Gettable, string>> = {};
      for (const kind of ['campaign', 'ad_set', 'ad'] as const) {
        const id = await existing(ctx, credentials, { ...r, checkpoint: cp }, kind);
        if (id) {
          ids[kind] = id;
          cp = { ...cp, [`${kind}_id`]: id };
        }
      }
      for (const kind of ['ad', 'ad_set', 'campaign'] as const) {
        const id = ids[kind];
        if (!id || !(await lookUp(ctx, credentials, r, kind, { id }))) continue;
        await setStatus(ctx, credentials, r, kind, id, 'DELETE');
      }
    },
  };
}
