import {
  type FakeReply,
  type FakeRequest,
  startVendorFake,
  type VendorFakeServer,
} from '../vendor-fake-server.ts';

/**
 * A fake of TikTok's Marketing API v1.3 (business-api.tiktok.com, `/open_api/v1.3/...`) on
 * 127.0.0.1, checked as TikTok documents it (tiktok/tiktok-business-api-sdk docs): every call needs
 * the `Access-Token` header of a live advertiser token and an `advertiser_id` it may manage (query
 * for GET, JSON body for POST, `Content-Type: application/json`); ids and lists in GET queries are
 * JSON. Like TikTok it answers HTTP 200 with `{code, message, request_id, data}` and a non-zero
 * `code` on failure: 40105 for an invalid or revoked token, 40001 for an advertiser the token may
 * not manage, 40002 for a parameter TikTok would refuse (each recorded in `refused`), 40100 when
 * throttled (`failNext`), 50000 for a system error.
 *
 * Objects: library videos (upload by URL with a unique `file_name`; processing for
 * `videoPollsUntilReady` info calls before `video_cover_url` appears), images (upload by URL),
 * CUSTOMIZED_USER identities, campaigns, ad groups and ads. A campaign created without the
 * allowlist is ENABLE whatever `operation_status` said (as TikTok documents); ad groups and ads
 * take the status they were created with. Creates are checked for required fields and enums
 * (REACH/CPM/REACH, a daily budget of at least 20.00, `location_ids`, a schedule, ad `creatives`
 * with identity, SINGLE_VIDEO, video, cover image and 1–100 chars of `ad_text`). Deleted objects
 * are no longer listed and their status cannot change (40002). `holdMs` holds a create's answer
 * after the object exists (a worker killed then leaves an object its checkpoint does not know).
 */
export type TikTokAdKind = 'video' | 'image' | 'identity' | 'campaign' | 'ad_group' | 'ad';
export type TikTokAdObject = {
  id: string;
  kind: TikTokAdKind;
  advertiser: string;
  name: string;
  parent: string | null;
  status: 'ENABLE' | 'DISABLE' | 'DELETE';
  fields: Record<string, unknown>;
  polls: number;
};

const V = '/open_api/v1.3';
const CREATE: Record<string, { kind: TikTokAdKind; nameKey: string; idKey: string }> = {
  '/file/video/ad/upload/': { kind: 'video', nameKey: 'file_name', idKey: 'video_id' },
  '/file/image/ad/upload/': { kind: 'image', nameKey: 'file_name', idKey: 'image_id' },
  '/identity/create/': { kind: 'identity', nameKey: 'display_name', idKey: 'identity_id' },
  '/campaign/create/': { kind: 'campaign', nameKey: 'campaign_name', idKey: 'campaign_id' },
  '/adgroup/create/': { kind: 'ad_group', nameKey: 'adgroup_name', idKey: 'adgroup_id' },
  '/ad/create/': { kind: 'ad', nameKey: 'ad_name', idKey: 'ad_id' },
};
const GET: Record<string, { kind: TikTokAdKind; id: string; name: string; ids: string; parentIds?: string }> =
  {
    '/campaign/get/': { kind: 'campaign', id: 'campaign_id', name: 'campaign_name', ids: 'campaign_ids' },
    '/adgroup/get/': {
      kind: 'ad_group',
      id: 'adgroup_id',
      name: 'adgroup_name',
      ids: 'adgroup_ids',
      parentIds: 'campaign_ids',
    },
    '/ad/get/': { kind: 'ad', id: 'ad_id', name: 'ad_name', ids: 'ad_ids', parentIds: 'adgroup_ids' },
  };
const STATUS: Record<string, { kind: TikTokAdKind; ids: string }> = {
  '/campaign/status/update/': { kind: 'campaign', ids: 'campaign_ids' },
  '/adgroup/status/update/': { kind: 'ad_group', ids: 'adgroup_ids' },
  '/ad/status/update/': { kind: 'ad', ids: 'ad_ids' },
};
const SIGNED_MEDIA_URL = /\/media\/med_[0-9a-z]{26}\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/;
const TIKTOK_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

export type TikTokAdsFake = VendorFakeServer & {
  objects: Map<string, TikTokAdObject>;
  control: {
    /** Answers the next create of a kind with this reply. */
    failNext: Map<TikTokAdKind, FakeReply>;
    holdMs: Map<TikTokAdKind, number>;
    /** Every request refused for its content, with what was wrong (a test expects this empty). */
    refused: string[];
  };
  /** Tokens TikTok accepts; `revoke` makes one answer 40105 from the next call on. */
  revoke(token: string): void;
  ofKind(kind: TikTokAdKind): TikTokAdObject[];
  tiktokError(code: number, message: string): FakeReply;
};

export async function startTikTokAdsFake(opts: {
  advertisers: string[];
  tokens: string[];
  videoPollsUntilReady?: number;
}): Promise<TikTokAdsFake> {
  const live = new Set(opts.tokens);
  const objects = new Map<string, TikTokAdObject>();
  const control: TikTokAdsFake['control'] = { failNext: new Map(), holdMs: new Map(), refused: [] };
  let seq = 0;
  const ok = (data: unknown): FakeReply => ({
    status: 200,
    body: { code: 0, message: 'OK', request_id: `fake${++seq}`, data },
  });
  const tiktokError = (code: number, message: string): FakeReply => ({
    status: 200,
    body: { code, message, request_id: `fake${++seq}`, data: {} },
  });
  const refuse = (what: string, problems: string[]) => {
    control.refused.push(`${what}: ${problems.join(', ')}`);
    return tiktokError(40002, `Invalid parameters: ${problems.join(', ')}`);
  };
  const json = (v: string | null | undefined): unknown => {
    try {
      return v == null ? undefined : JSON.parse(v);
    } catch {
      return undefined;
    }
  };
  const live$ = (advertiser: string, kind: TikTokAdKind) =>
    [...objects.values()].filter(
      (o) => o.advertiser === advertiser && o.kind === kind && o.status !== 'DELETE',
    );
  const own = (advertiser: string, kind: TikTokAdKind, id: unknown) => {
    const o = typeof id === 'string' ? objects.get(id) : undefined;
    return o && o.kind === kind && o.advertiser === advertiser && o.status !== 'DELETE' ? o : undefined;
  };
  const text = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;

  /** What TikTok would refuse about this create (empty: accepted). */
  function problems(kind: TikTokAdKind, adv: string, b: Record<string, unknown>): string[] {
    const p: string[] = [];
    if (kind === 'video' || kind === 'image') {
      if (b.upload_type !== 'UPLOAD_BY_URL') p.push('upload_type');
      if (!text(b.file_name, 100)) p.push('file_name (1-100)');
      if (kind === 'video') {
        if (!SIGNED_MEDIA_URL.test(String(b.video_url ?? ''))) p.push('video_url');
        if (live$(adv, 'video').some((v) => v.name === b.file_name)) p.push('duplicated file_name');
      }
      if (kind === 'image') {
        const covers = live$(adv, 'video').map((v) => v.fields.video_cover_url);
        if (!covers.includes(b.image_url)) p.push('image_url (a video cover)');
      }
    }
    if (kind === 'identity' && !text(b.display_name, 40)) p.push('display_name (1-40)');
    if (kind === 'campaign') {
      if (!text(b.campaign_name, 512)) p.push('campaign_name');
      if (!['REACH', 'TRAFFIC', 'VIDEO_VIEWS', 'ENGAGEMENT'].includes(String(b.objective_type)))
        p.push('objective_type');
      if (!['BUDGET_MODE_INFINITE', 'BUDGET_MODE_DAY', 'BUDGET_MODE_TOTAL'].includes(String(b.budget_mode)))
        p.push('budget_mode');
      if (b.budget_mode !== 'BUDGET_MODE_INFINITE' && typeof b.budget !== 'number') p.push('budget');
    }
    if (kind === 'ad_group') {
      if (!text(b.adgroup_name, 512)) p.push('adgroup_name');
      if (!own(adv, 'campaign', b.campaign_id)) p.push('campaign_id');
      if (b.placement_type !== 'PLACEMENT_TYPE_NORMAL' || !Array.isArray(b.placements)) p.push('placements');
      const locations = b.location_ids;
      if (
        !Array.isArray(locations) ||
        locations.length === 0 ||
        locations.some((l) => !/^\d+$/.test(String(l)))
      )
        p.push('location_ids');
      if (b.budget_mode !== 'BUDGET_MODE_DAY') p.push('budget_mode');
      if (typeof b.budget !== 'number' || b.budget < 20) p.push('budget (daily, at least 20.00)');
      if (b.schedule_type !== 'SCHEDULE_FROM_NOW' || !TIKTOK_TIME.test(String(b.schedule_start_time)))
        p.push('schedule_type/schedule_start_time');
      if (b.optimization_goal !== 'REACH' || b.billing_event !== 'CPM')
        p.push('optimization_goal/billing_event');
      if (!['PACING_MODE_SMOOTH', 'PACING_MODE_FAST'].includes(String(b.pacing))) p.push('pacing');
      if (!['ENABLE', 'DISABLE'].includes(String(b.operation_status ?? 'ENABLE'))) p.push('operation_status');
    }
    if (kind === 'ad') {
      if (!own(adv, 'ad_group', b.adgroup_id)) p.push('adgroup_id');
      const c =
        Array.isArray(b.creatives) && b.creatives.length === 1
          ? (b.creatives[0] as Record<string, unknown>)
          : null;
      if (!c) return [...p, 'creatives'];
      if (!text(c.ad_name, 512)) p.push('ad_name');
      if (c.identity_type !== 'CUSTOMIZED_USER' || !own(adv, 'identity', c.identity_id)) p.push('identity');
      if (c.ad_format !== 'SINGLE_VIDEO') p.push('ad_format');
      const video = own(adv, 'video', c.video_id);
      if (!video || video.polls < (opts.videoPollsUntilReady ?? 1)) p.push('video_id (a processed video)');
      const images = c.image_ids;
      if (!Array.isArray(images) || images.length !== 1 || !own(adv, 'image', images[0])) p.push('image_ids');
      if (!text(c.ad_text, 100)) p.push('ad_text (1-100)');
      if (!['ENABLE', 'DISABLE'].includes(String(c.operation_status ?? 'ENABLE'))) p.push('operation_status');
    }
    return p;
  }

  async function create(path: string, adv: string, b: Record<string, unknown>): Promise<FakeReply> {
    const spec = CREATE[path] as (typeof CREATE)[string];
    const failure = control.failNext.get(spec.kind);
    if (failure) {
      control.failNext.delete(spec.kind);
      return failure;
    }
    const p = problems(spec.kind, adv, b);
    if (p.length > 0) return refuse(spec.kind, p);
    const id = `${17e17 + ++seq * 1000 + Math.floor(Math.random() * 1000)}`;
    const creative =
      spec.kind === 'ad' ? ((b.creatives as Record<string, unknown>[])[0] as Record<string, unknown>) : b;
    const status =
      spec.kind === 'campaign'
        ? 'ENABLE' // operation_status at create is allowlist-only: ignored without the allowlist.
        : ((creative.operation_status as 'ENABLE' | 'DISABLE' | undefined) ?? 'ENABLE');
    const parent =
      spec.kind === 'ad_group' ? String(b.campaign_id) : spec.kind === 'ad' ? String(b.adgroup_id) : null;
    const fields = { ...creative };
    if (spec.kind === 'video') fields.video_cover_url = null;
    objects.set(id, {
      id,
      kind: spec.kind,
      advertiser: adv,
      name: String(creative[spec.nameKey]),
      parent,
      status,
      fields,
      polls: 0,
    });
    const hold = control.holdMs.get(spec.kind);
    if (hold) await new Promise((r) => setTimeout(r, hold));
    if (spec.kind === 'video') return ok([{ video_id: id, file_name: b.file_name }]);
    if (spec.kind === 'ad') return ok({ ad_ids: [id] });
    return ok({ [spec.idKey]: id });
  }

  function list(path: string, adv: string, q: URLSearchParams): FakeReply {
    const spec = GET[path] as (typeof GET)[string];
    const filtering = (json(q.get('filtering')) ?? {}) as Record<string, unknown>;
    const fields = json(q.get('fields'));
    if (q.has('fields') && !Array.isArray(fields))
      return refuse(`${spec.kind} get`, ['fields (a JSON list)']);
    const ids = filtering[spec.ids];
    const parents = spec.parentIds ? filtering[spec.parentIds] : undefined;
    const since = filtering.creation_filter_start_time;
    if (since !== undefined && !TIKTOK_TIME.test(String(since)))
      return refuse(`${spec.kind} get`, ['creation_filter_start_time']);
    const data = live$(adv, spec.kind)
      .filter((o) => (Array.isArray(ids) ? ids.includes(o.id) : true))
      .filter((o) => (Array.isArray(parents) ? parents.includes(o.parent) : true))
      .map((o) => ({ [spec.id]: o.id, [spec.name]: o.name, operation_status: o.status }));
    return ok({
      list: data,
      page_info: { page: 1, page_size: data.length, total_number: data.length, total_page: 1 },
    });
  }

  function setStatus(path: string, adv: string, b: Record<string, unknown>): FakeReply {
    const spec = STATUS[path] as (typeof STATUS)[string];
    const ids = b[spec.ids];
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 20)
      return refuse(`${spec.kind} status`, [spec.ids]);
    if (!['ENABLE', 'DISABLE', 'DELETE'].includes(String(b.operation_status)))
      return refuse(`${spec.kind} status`, ['operation_status']);
    const targets = ids.map((id) => objects.get(String(id)));
    if (targets.some((o) => !o || o.kind !== spec.kind || o.advertiser !== adv || o.status === 'DELETE'))
      return tiktokError(40002, 'The status of deleted or unknown objects cannot be modified.');
    for (const o of targets as TikTokAdObject[]) o.status = b.operation_status as TikTokAdObject['status'];
    return ok({ [spec.ids]: ids });
  }

  function answer(req: FakeRequest): FakeReply | Promise<FakeReply> {
    if (!req.path.startsWith(`${V}/`)) return { status: 404, body: { code: 40400, message: 'Not found' } };
    const path = req.path.slice(V.length);
    const token = req.headers['access-token'];
    if (typeof token !== 'string' || token === '') return tiktokError(40104, 'Access token is empty.');
    if (!live.has(token)) return tiktokError(40105, 'The access token is invalid or has been revoked.');
    let b: Record<string, unknown> = {};
    if (req.method === 'POST') {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
        return refuse(path, ['Content-Type must be application/json']);
      const parsed = json(req.body);
      if (!parsed || typeof parsed !== 'object') return refuse(path, ['body is not a JSON object']);
      b = parsed as Record<string, unknown>;
    }
    const adv = String((req.method === 'GET' ? req.query.get('advertiser_id') : b.advertiser_id) ?? '');
    if (!/^\d+$/.test(adv)) return refuse(path, ['advertiser_id']);
    if (!opts.advertisers.includes(adv))
      return tiktokError(40001, 'No permission to operate this advertiser.');
    if (req.method === 'POST' && CREATE[path]) return create(path, adv, b);
    if (req.method === 'POST' && STATUS[path]) return setStatus(path, adv, b);
    if (req.method === 'GET' && GET[path]) return list(path, adv, req.query);
    if (req.method === 'GET' && path === '/file/video/ad/info/') {
      const ids = json(req.query.get('video_ids'));
      if (!Array.isArray(ids) || ids.length < 1 || ids.length > 60)
        return refuse('video info', ['video_ids']);
      const found = ids.map((id) => own(adv, 'video', id)).filter((v): v is TikTokAdObject => !!v);
      for (const v of found) {
        v.polls++;
        if (v.polls >= (opts.videoPollsUntilReady ?? 1))
          v.fields.video_cover_url = `https://p16-sign.tiktokcdn-us.com/fake/${v.id}~tplv-noop.image?x-expires=1&x-signature=s`;
      }
      return ok({
        list: found.map((v) => ({
          video_id: v.id,
          file_name: v.name,
          video_cover_url: v.fields.video_cover_url,
          displayable: true,
        })),
      });
    }
    if (req.method === 'GET' && path === '/file/video/ad/search/') {
      const size = Number(req.query.get('page_size') ?? 20);
      if (!Number.isInteger(size) || size < 1 || size > 100)
        return refuse('video search', ['page_size (1-100)']);
      const all = live$(adv, 'video');
      return ok({
        list: all.map((v) => ({ video_id: v.id, file_name: v.name })),
        page_info: { page: 1, page_size: size, total_number: all.length, total_page: 1 },
      });
    }
    if (req.method === 'GET' && path === '/identity/get/') {
      if (req.query.get('identity_type') !== 'CUSTOMIZED_USER')
        return refuse('identity get', ['identity_type']);
      return ok({
        identity_list: live$(adv, 'identity').map((i) => ({
          identity_id: i.id,
          identity_type: 'CUSTOMIZED_USER',
          display_name: i.name,
        })),
        page_info: { page: 1, total_page: 1 },
      });
    }
    return { status: 404, body: { code: 40400, message: 'Not found' } };
  }

  const server = await startVendorFake(answer);
  return Object.assign(server, {
    objects,
    control,
    revoke: (token: string) => {
      live.delete(token);
    },
    ofKind: (kind: TikTokAdKind) => [...objects.values()].filter((o) => o.kind === kind),
    tiktokError,
  });
}
