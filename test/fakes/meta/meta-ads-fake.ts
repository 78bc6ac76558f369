import type { FakeReply, FakeRequest } from '../vendor-fake-server.ts';
import type { MetaFake } from './meta-fake.ts';

/**
 * The Marketing API on the Meta fake (`fake.use`): ad videos, campaigns, ad sets, ad creatives and
 * ads of the ad accounts in `accounts`, checked as Meta documents them. Every call needs a live
 * user token (`fake.checkToken`; the long-lived one the fake's login issued): Meta's ad-account
 * endpoints take a user or system-user token with ads_management, so a Page token (and the app
 * token) is refused with an OAuthException of the permission class, code 200 (Graph's 200–299,
 * "API Permission"; the message is the fake's own); every object must be created `PAUSED`; a campaign needs
 * `special_ad_categories` (a JSON array); an ad set needs its campaign, a daily budget in minor units
 * (an integer string), a billing event, an optimisation goal and targeting with countries; a creative's
 * `object_story_spec` names a Page of the token's user and a ready video of the account with a thumbnail; an ad
 * names its ad set and `creative: {creative_id}`. Edges are listed with `filtering` on `name`;
 * `DELETE /{id}` answers 100/33 for an object that does not exist. Failures as Meta's: `failNext`
 * answers the next create of a kind with a Graph error (17 or 80004 rate limits, a refusal); `holdMs`
 * holds a create's answer after the object exists (a worker killed in that window leaves an object
 * its checkpoint does not know).
 */
export type AdObject = {
  id: string;
  kind: 'video' | 'campaign' | 'ad_set' | 'creative' | 'ad';
  account: string;
  name: string;
  parent: string | null;
  fields: Record<string, string>;
  polls: number;
};

const EDGE_KIND = {
  advideos: 'video',
  campaigns: 'campaign',
  adsets: 'ad_set',
  adcreatives: 'creative',
  ads: 'ad',
} as const;
type Edge = keyof typeof EDGE_KIND;

export function installMetaAdsFake(
  fake: MetaFake,
  opts: { accounts: string[]; videoPollsUntilReady?: number },
) {
  const V = fake.graphVersion;
  const objects = new Map<string, AdObject>();
  const deleted: AdObject[] = [];
  let seq = 1000;
  const control = {
    failNext: new Map<AdObject['kind'], FakeReply>(),
    holdMs: new Map<AdObject['kind'], number>(),
    /** Every create refused, with the problems found (a test expects this empty). */
    refused: [] as string[],
  };
  const graphError = (code: number, message: string, subcode?: number, status = 400): FakeReply => ({
    status,
    body: {
      error: {
        message,
        type: 'OAuthException',
        code,
        ...(subcode ? { error_subcode: subcode } : {}),
        fbtrace_id: 'fake',
      },
    },
  });
  const missing = (id: string) =>
    graphError(100, `Unsupported request. Object with ID '${id}' does not exist.`, 33);
  const json = (v: string | undefined): unknown => {
    try {
      return v === undefined ? undefined : JSON.parse(v);
    } catch {
      return undefined;
    }
  };
  const ofKind = (id: string | undefined, kind: AdObject['kind'], account: string) => {
    const o = id ? objects.get(id) : undefined;
    return o && o.kind === kind && o.account === account ? o : undefined;
  };

  /** What Meta would refuse about this create (empty: accepted). */
  function problems(
    kind: AdObject['kind'],
    account: string,
    f: Record<string, string>,
    userPages: readonly string[],
  ): string[] {
    const p: string[] = [];
    if (!f.name) p.push('name');
    if (kind !== 'video' && kind !== 'creative' && f.status !== 'PAUSED') p.push('status must be PAUSED');
    if (
      kind === 'video' &&
      !/\/media\/med_[0-9a-z]{26}\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/.test(f.file_url ?? '')
    )
      p.push('file_url');
    if (kind === 'campaign') {
      if (!Array.isArray(json(f.special_ad_categories))) p.push('special_ad_categories');
      if (!/^OUTCOME_(AWARENESS|TRAFFIC|ENGAGEMENT|LEADS|SALES|APP_PROMOTION)$/.test(f.objective ?? ''))
        p.push('objective');
    }
    if (kind === 'ad_set') {
      if (!ofKind(f.campaign_id, 'campaign', account)) p.push('campaign_id');
      if (!/^[1-9]\d*$/.test(f.daily_budget ?? '')) p.push('daily_budget (minor units)');
      if (!f.billing_event || !f.optimization_goal) p.push('billing_event/optimization_goal');
      const t = json(f.targeting) as { geo_locations?: { countries?: unknown } } | undefined;
      if (!Array.isArray(t?.geo_locations?.countries) || t.geo_locations.countries.length === 0)
        p.push('targeting');
    }
    if (kind === 'creative') {
      const spec = json(f.object_story_spec) as
        | {
            page_id?: string;
            video_data?: { video_id?: string; image_url?: string; message?: string; title?: string };
          }
        | undefined;
      if (!spec?.page_id || !userPages.includes(spec.page_id))
        p.push('object_story_spec.page_id (a Page of the token’s user)');
      const video = ofKind(spec?.video_data?.video_id, 'video', account);
      if (!video || video.polls < (opts.videoPollsUntilReady ?? 1))
        p.push('video_data.video_id (a ready video)');
      if (!spec?.video_data?.image_url) p.push('video_data.image_url');
      if (!spec?.video_data?.message || !spec.video_data.title) p.push('video_data.message/title');
    }
    if (kind === 'ad') {
      if (!ofKind(f.adset_id, 'ad_set', account)) p.push('adset_id');
      const c = json(f.creative) as { creative_id?: string } | undefined;
      if (!ofKind(c?.creative_id, 'creative', account)) p.push('creative.creative_id');
    }
    return p;
  }

  async function create(req: FakeRequest, account: string, edge: Edge, userId: string): Promise<FakeReply> {
    const kind = EDGE_KIND[edge];
    const failure = control.failNext.get(kind);
    if (failure) {
      control.failNext.delete(kind);
      return failure;
    }
    const f = Object.fromEntries(req.form ?? new URLSearchParams());
    const pages = (fake.control.pagesByUser.get(userId) ?? []).map((page) => page.id);
    const p = problems(kind, account, f, pages);
    if (p.length > 0) {
      control.refused.push(`${kind}: ${p.join(', ')}`);
      return graphError(100, `Invalid parameter: ${p.join(', ')}`);
    }
    const parent =
      kind === 'ad_set' ? (f.campaign_id as string) : kind === 'ad' ? (f.adset_id as string) : null;
    const id = String(++seq) + String(Date.now()).slice(-6);
    objects.set(id, { id, kind, account, name: f.name as string, parent, fields: f, polls: 0 });
    const hold = control.holdMs.get(kind);
    if (hold) await new Promise((r) => setTimeout(r, hold));
    return { status: 200, body: { id } };
  }

  fake.use(async (req) => {
    if (!req.path.startsWith(`${V}/`)) return undefined;
    const path = req.path.slice(V.length);
    const actEdge = /^\/act_(\d+)\/(advideos|campaigns|adsets|adcreatives|ads)$/.exec(path);
    const childEdge = /^\/(\d+)\/(adsets|ads)$/.exec(path);
    const node = /^\/(\d+)$/.exec(path);
    if (!actEdge && !childEdge && !node) return undefined;
    const who = fake.checkToken(req);
    if ('status' in who) return who;
    if (who.kind !== 'user')
      return graphError(
        200,
        `(#200) Ad account objects take a user or system-user access token with ads_management, not a${who.kind === 'app' ? 'n app' : ' Page'} token`,
        undefined,
        403,
      );
    if (actEdge) {
      const [, account, edge] = actEdge as unknown as [string, string, Edge];
      if (!opts.accounts.includes(account)) return missing(`act_${account}`);
      if (req.method === 'POST') return create(req, account, edge, who.userId as string);
      if (req.method === 'GET') return list(req, (o) => o.account === account && o.kind === EDGE_KIND[edge]);
      return graphError(100, 'Unsupported request');
    }
    if (childEdge) {
      const [, parent, edge] = childEdge as unknown as [string, string, Edge];
      if (!objects.has(parent)) return missing(parent);
      if (req.method !== 'GET') return graphError(100, 'Unsupported request');
      return list(req, (o) => o.parent === parent && o.kind === EDGE_KIND[edge]);
    }
    const id = (node as RegExpExecArray)[1] as string;
    const o = objects.get(id);
    if (!o) return missing(id);
    if (req.method === 'DELETE') {
      objects.delete(id);
      deleted.push(o);
      return { status: 200, body: { success: true } };
    }
    if (req.method !== 'GET') return graphError(100, 'Unsupported request');
    const fields = req.query.get('fields') ?? '';
    if (o.kind === 'video' && fields === 'status') {
      o.polls++;
      const ready = o.polls >= (opts.videoPollsUntilReady ?? 1);
      return { status: 200, body: { id, status: { video_status: ready ? 'ready' : 'processing' } } };
    }
    if (o.kind === 'video' && fields === 'picture')
      return { status: 200, body: { id, picture: `https://scontent.fake.fbcdn.net/v/${id}.jpg?oh=sig` } };
    return { status: 200, body: { id, name: o.name } };
  });

  function list(req: FakeRequest, match: (o: AdObject) => boolean): FakeReply {
    const filtering = json(req.query.get('filtering') ?? undefined) as
      | { field?: string; operator?: string; value?: string }[]
      | undefined;
    const byName = filtering?.find((f) => f.field === 'name' && f.operator === 'EQUAL');
    const data = [...objects.values()]
      .filter((o) => match(o) && (!byName || o.name === byName.value))
      .map((o) => ({ id: o.id, name: o.name }));
    return { status: 200, body: { data } };
  }

  return {
    objects,
    deleted,
    control,
    /** The live objects of a kind. */
    ofKind: (kind: AdObject['kind']) => [...objects.values()].filter((o) => o.kind === kind),
    /** How many objects were ever created (live or deleted) of a kind. */
    createdCount: (kind: AdObject['kind']) =>
      [...objects.values(), ...deleted].filter((o) => o.kind === kind).length,
    rateLimit: (code: 17 | 80004): FakeReply =>
      code === 17
        ? graphError(17, 'User request limit reached', 2446079)
        : graphError(
            80004,
            'There have been too many calls to this ad-account. Wait a bit and try again.',
            2446079,
          ),
    transient: (): FakeReply =>
      graphError(2, 'An unexpected error has occurred. Please retry your request later.', undefined, 500),
    /** A permission taken back (ads_management unticked in the user's business integrations). */
    permissionGone: (): FakeReply =>
      graphError(200, '(#200) Requires ads_management permission to manage the object', undefined, 403),
    refusal: (): FakeReply =>
      graphError(100, 'Invalid parameter: the budget is too low for this ad set', 1885272),
  };
}

export type MetaAdsFake = ReturnType<typeof installMetaAdsFake>;
