import { createHmac } from 'node:crypto';
import type { EgressCall, EgressDataClass } from '../../egress/egress-types.ts';
import {
  type AdCheckpoint,
  type AdDeployer,
  type AdDeployRequest,
  type AdObjectKind,
  adObjectName,
} from '../ads-port.ts';
import { callJson, type VendorErrorInfo } from '../platform-http.ts';
import {
  type CallContext,
  type PlatformDeps,
  PlatformError,
  type StoredCredentials,
} from '../social-platform.ts';
import { GRAPH_VERSION } from './meta-platform.ts';

/**
 * Meta Marketing API: video → campaign → ad set → ad creative → ad, all `PAUSED`, on the ad account
 * the partner names, for the connected Facebook Page (the creative's `object_story_spec.page_id`).
 *
 * Which token: the long-lived user token of the Facebook login that connected the Page
 * (`grantUserToken`, kept beside the Page token since 0026), with `appsecret_proof` like
 * meta-platform.ts. Ad-account endpoints take a user (or system-user) token with `ads_management`
 * and refuse a Page token; every call here is on the ad account or its objects (videos, campaigns,
 * ad sets, creatives, ads, their deletes), so none carries the Page token. The Page appears only as
 * `object_story_spec.page_id`, which Meta checks against the user's tasks on that Page. An account
 * connected before 0026 has no user token: the runner fails it with account_needs_reconnect.
 *
 * Steps (one creating call each, made last; see ads-port.ts): upload the video by `file_url`
 * (`POST /act_{id}/advideos`), poll `status.video_status` until `ready`, then campaign
 * (`special_ad_categories: []`, objective OUTCOME_ENGAGEMENT), ad set (daily budget in the account
 * currency's minor units, THRUPLAY on IMPRESSIONS, countries), creative (`video_data` with the
 * video's own thumbnail as `image_url`), ad (`creative: {creative_id}`). Before each create, the
 * object is looked up by its name (`layers ad_… <kind>`) under its parent: a crash after the create
 * and before the checkpoint was stored finds it instead of creating another.
 *
 * Errors: 190/102 → reauth, and 200–299 (a permission such as ads_management taken back or never
 * granted) too, since only a new login grants it; 17, 4, 32, 613 and 80000–80014 (the ads
 * business-use-case limits) → rate_limited; 1/2 → transient; 100 with subcode 33 (no such object) → already deleted, on rollback.
 */
const GRAPH = `https://graph.facebook.com/${GRAPH_VERSION}`;
const GRAPH_VIDEO = `https://graph-video.facebook.com/${GRAPH_VERSION}`;
export const META_ADS_SCOPES = ['ads_management'] as const;
const VIDEO_POLL_MS = 2_000;
const CALL_TIMEOUT_MS = 10_000;

type GraphError = { error?: { code?: unknown; error_subcode?: unknown } };

export function metaAdsErrorInfo(status: number, body: unknown): VendorErrorInfo {
  const err = (body as GraphError | null)?.error;
  if (!err || typeof err !== 'object') return { code: null };
  const code = Number(err.code);
  const sub = Number(err.error_subcode);
  const label = Number.isFinite(code) ? (Number.isFinite(sub) ? `${code}.${sub}` : String(code)) : null;
  if (code === 190 || code === 102 || (code >= 200 && code <= 299)) return { kind: 'reauth', code: label };
  if ([4, 17, 32, 613].includes(code) || (code >= 80000 && code <= 80014) || status === 429)
    return { kind: 'rate_limited', code: label };
  if (code === 1 || code === 2) return { kind: 'transient', code: label };
  return { kind: status >= 500 ? 'transient' : 'refused', code: label };
}

/** Graph's "object does not exist" (100/33): on a delete, the object is already gone. */
const isGone = (e: unknown) => e instanceof PlatformError && e.vendorCode === '100.33';

type Listing = { data?: { id?: unknown; name?: unknown }[] };

export function createMetaAds(
  deps: PlatformDeps & { credentials: { appId: string; appSecret: string } | undefined },
): AdDeployer {
  const { egress } = deps;

  function token(credentials: StoredCredentials) {
    if (!deps.credentials) throw new PlatformError('refused', 'meta is not configured');
    const t = credentials.grantUserToken;
    if (!t) throw new PlatformError('reauth', 'social account has no live user token');
    return {
      access_token: t,
      appsecret_proof: createHmac('sha256', deps.credentials.appSecret).update(t).digest('hex'),
    };
  }

  function graph<T>(
    ctx: CallContext,
    credentials: StoredCredentials,
    call: { method: 'GET' | 'POST' | 'DELETE'; path: string; form?: Record<string, string>; base?: string },
    dataClasses: readonly EgressDataClass[] = ['platform_ids'],
  ): Promise<T> {
    const egressCall: EgressCall = {
      ...ctx,
      vendor: 'meta',
      purpose: 'ads',
      dataClasses,
      records: 1,
      method: call.method,
      url: `${call.base ?? GRAPH}${call.path}`,
      ...(call.form ? { body: { form: call.form } } : {}),
      credentials: { query: token(credentials) },
      timeoutMs: CALL_TIMEOUT_MS,
    };
    return callJson<T>(egress, egressCall, metaAdsErrorInfo);
  }

  const act = (adAccountId: string) => `/act_${encodeURIComponent(adAccountId)}`;
  const filterByName = (name: string) =>
    `fields=id,name&filtering=${encodeURIComponent(JSON.stringify([{ field: 'name', operator: 'EQUAL', value: name }]))}`;

  /** The object of this deployment and kind under `edge`, if one exists (the crash look-up). */
  async function find(
    ctx: CallContext,
    credentials: StoredCredentials,
    edge: string,
    name: string,
  ): Promise<string | null> {
    const res = await graph<Listing>(ctx, credentials, {
      method: 'GET',
      path: `${edge}?${filterByName(name)}`,
    });
    const hit = (res.data ?? []).find((o) => o.name === name && typeof o.id === 'string');
    return hit ? (hit.id as string) : null;
  }

  async function created(
    ctx: CallContext,
    credentials: StoredCredentials,
    path: string,
    form: Record<string, string>,
    dataClasses: readonly EgressDataClass[],
    base?: string,
  ): Promise<string> {
    const res = await graph<{ id?: unknown }>(
      ctx,
      credentials,
      { method: 'POST', path, form, ...(base ? { base } : {}) },
      dataClasses,
    );
    if (typeof res.id !== 'string' || res.id.length === 0 || res.id.length > 64)
      throw new PlatformError('transient', 'meta ads call failed (transient: no_id)');
    return res.id;
  }

  /** Where each kind lives (its look-up edge), given the checkpoint's parents. */
  function edgeOf(kind: AdObjectKind, adAccountId: string, cp: AdCheckpoint): string | null {
    if (kind === 'ad_set') return cp.campaign_id ? `/${encodeURIComponent(cp.campaign_id)}/adsets` : null;
    if (kind === 'ad') return cp.ad_set_id ? `/${encodeURIComponent(cp.ad_set_id)}/ads` : null;
    const edges = { video: 'advideos', campaign: 'campaigns', creative: 'adcreatives' } as const;
    return `${act(adAccountId)}/${edges[kind]}`;
  }

  /** The id of `kind` from the checkpoint, else from a look-up by name (null: it does not exist). */
  async function existing(
    ctx: CallContext,
    credentials: StoredCredentials,
    r: Pick<AdDeployRequest, 'deploymentId' | 'adAccountId' | 'checkpoint'>,
    kind: AdObjectKind,
  ): Promise<string | null> {
    const known = r.checkpoint[`${kind}_id`];
    if (known) return known;
    const edge = edgeOf(kind, r.adAccountId, r.checkpoint);
    return edge ? find(ctx, credentials, edge, adObjectName(r.deploymentId, kind)) : null;
  }

  const next = (checkpoint: AdCheckpoint, retryAfterMs = 0) => ({
    status: 'creating' as const,
    checkpoint,
    retryAfterMs,
  });

  return {
    platform: 'meta',
    requiredScopes: META_ADS_SCOPES,
    token: 'grant_user',
    refusal: () => null,
    normaliseAdAccountId(value) {
      const m = /^(?:act_)?(\d{1,30})$/.exec(value);
      return m ? (m[1] as string) : null;
    },

    async step(ctx, credentials, r) {
      const cp = r.checkpoint;
      const a = act(r.adAccountId);
      const name = (kind: AdObjectKind) => adObjectName(r.deploymentId, kind);
      if (!cp.video_id) {
        const found = await existing(ctx, credentials, r, 'video');
        if (found) return next({ ...cp, video_id: found });
        const id = await created(
          ctx,
          credentials,
          `${a}/advideos`,
          { name: name('video'), file_url: r.media.publicUrl() },
          ['generated_media', 'platform_ids'],
          GRAPH_VIDEO,
        );
        return next({ ...cp, video_id: id }, VIDEO_POLL_MS);
      }
      if (!cp.video_ready) {
        const v = await graph<{ status?: { video_status?: unknown } }>(ctx, credentials, {
          method: 'GET',
          path: `/${encodeURIComponent(cp.video_id)}?fields=status`,
        });
        const status = v.status?.video_status;
        if (status === 'ready') return next({ ...cp, video_ready: true });
        if (status === 'error')
          throw new PlatformError('refused', 'meta ads call failed (refused: video_error)', {
            vendorCode: 'video_status.error',
            apiCode: 'media_rejected',
          });
        return next(cp, VIDEO_POLL_MS);
      }
      if (!cp.campaign_id) {
        const found = await existing(ctx, credentials, r, 'campaign');
        if (found) return next({ ...cp, campaign_id: found });
        const id = await created(
          ctx,
          credentials,
          `${a}/campaigns`,
          {
            name: name('campaign'),
            objective: 'OUTCOME_ENGAGEMENT',
            status: 'PAUSED',
            special_ad_categories: '[]',
          },
          ['ad_settings', 'platform_ids'],
        );
        return next({ ...cp, campaign_id: id });
      }
      if (!cp.ad_set_id) {
        const found = await existing(ctx, credentials, r, 'ad_set');
        if (found) return next({ ...cp, ad_set_id: found });
        const id = await created(
          ctx,
          credentials,
          `${a}/adsets`,
          {
            name: name('ad_set'),
            campaign_id: cp.campaign_id,
            daily_budget: String(r.dailyBudgetCents),
            billing_event: 'IMPRESSIONS',
            optimization_goal: 'THRUPLAY',
            bid_strategy: 'LOWEST_COST_WITHOUT_CAP',
            targeting: JSON.stringify({ geo_locations: { countries: r.countries } }),
            status: 'PAUSED',
          },
          ['ad_settings', 'platform_ids'],
        );
        return next({ ...cp, ad_set_id: id });
      }
      if (!cp.creative_id) {
        const found = await existing(ctx, credentials, r, 'creative');
        if (found) return next({ ...cp, creative_id: found });
        // video_data needs a thumbnail: the uploaded video's own (read now, never stored).
        const v = await graph<{ picture?: unknown }>(ctx, credentials, {
          method: 'GET',
          path: `/${encodeURIComponent(cp.video_id)}?fields=picture`,
        });
        if (typeof v.picture !== 'string')
          throw new PlatformError('transient', 'meta ads call failed (transient: no_thumbnail)');
        const id = await created(
          ctx,
          credentials,
          `${a}/adcreatives`,
          {
            name: name('creative'),
            object_story_spec: JSON.stringify({
              page_id: credentials.platformUserId,
              video_data: { video_id: cp.video_id, image_url: v.picture, title: r.headline, message: r.body },
            }),
          },
          ['post_content', 'platform_ids'],
        );
        return next({ ...cp, creative_id: id });
      }
      if (!cp.ad_id) {
        const found = await existing(ctx, credentials, r, 'ad');
        if (found) return { status: 'created', checkpoint: { ...cp, ad_id: found } };
        const id = await created(
          ctx,
          credentials,
          `${a}/ads`,
          {
            name: name('ad'),
            adset_id: cp.ad_set_id,
            creative: JSON.stringify({ creative_id: cp.creative_id }),
            status: 'PAUSED',
          },
          ['ad_settings', 'platform_ids'],
        );
        return { status: 'created', checkpoint: { ...cp, ad_id: id } };
      }
      return { status: 'created', checkpoint: cp };
    },

    async rollback(ctx, credentials, r) {
      let cp: AdCheckpoint = r.checkpoint;
      // Look-ups first (children need their parents' ids), then deletes newest first.
      const ids: Partial<Record<AdObjectKind, string>> = {};
      for (const kind of ['video', 'campaign', 'ad_set', 'creative', 'ad'] as const) {
        const id = await existing(ctx, credentials, { ...r, checkpoint: cp }, kind);
        if (id) {
          ids[kind] = id;
          cp = { ...cp, [`${kind}_id`]: id };
        }
      }
      for (const kind of ['ad', 'creative', 'ad_set', 'campaign', 'video'] as const) {
        const id = ids[kind];
        if (!id) continue;
        try {
          await graph(ctx, credentials, { method: 'DELETE', path: `/${encodeURIComponent(id)}` });
        } catch (error) {
          // Already deleted (by an earlier attempt, or by hand in Ads Manager) is what we wanted.
          if (!isGone(error)) throw error;
        }
      }
    },
  };
}
