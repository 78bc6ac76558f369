import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { RouteEntry } from '../../src/http/route-catalog.ts';
import { PARTNER_ROUTE_ROLES } from '../../src/modules/console-auth/console-permissions.ts';
import { type Actor, ADMIN_TOKEN, type FuzzWorld, other } from './fuzz-world.ts';
import {
  asQueryValues,
  EXTRA_KEYS,
  encodeComponent,
  eventArb,
  latin1,
  type Mutation,
  mutate,
  RAW_BODIES,
  segmentMessageArb,
} from './request-parts.ts';
import {
  type FieldHints,
  hostileStringArb,
  hostileValueArb,
  lookalike,
  type Schema,
  validArb,
} from './schema-arbitraries.ts';

/**
 * One fuzz request per draw: a route of the catalog with a credential (its own org's key most of the
 * time, else another kind, a revoked or malformed one, none), path params from the world's pools (own
 * ids, the other org's ids, lookalikes, hostile strings), query and body from the route's schemas with
 * hostile values put anywhere in them, and hostile headers. Everything is sent as a client could send
 * it over the wire: percent-encoded (lone surrogates as their WTF-8 bytes), headers in Latin-1.
 */
export type FuzzRequest = {
  /** Whose key signs the request ('anonymous' for none or a malformed one). */
  actor: Actor | 'admin' | 'anonymous';
  method: string;
  url: string;
  headers: Record<string, string>;
  payload: string | undefined;
  /** Values that name another object by id (path ids, `*_id` fields): another org's must never succeed. */
  idValues: string[];
  /** Every string value sent, to check that errors never echo them. */
  sentStrings: string[];
};

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/**
 * Whether a path param names what the request may destroy or change (the last param of a DELETE or
 * PATCH, an org on an operator route that writes): never one of the world's protected ids.
 */
const isTarget = (route: RouteEntry, name: string): boolean | 'offboard' =>
  route.auth === 'admin' && name === 'orgId' && route.url.endsWith('/offboard')
    ? 'offboard'
    : ((route.method === 'DELETE' || route.method === 'PATCH') && route.url.endsWith(`:${name}`)) ||
      (route.auth === 'admin' && route.method !== 'GET' && name === 'orgId');
/** Fields that reference an object by id (a user id, event id or cursor names no object of the org). */
const ID_FIELD = /(^id|_id|_ids|Id)$/;
const FREE_IDS = new Set(['user_id', 'anonymous_id', 'event_id', 'pixel_id', 'event_source_id']);
const isIdRef = (key: string) => ID_FIELD.test(key) && !FREE_IDS.has(key);
const PAGE_CURSOR = new Set(['starting_after', 'ending_before', 'resource_id', 'actor_id']);
const INGEST = '/v1/sdk/events';
/** The Segment-compatible routes: their bodies are Segment messages (free-form in the schema too). */
const SEGMENT_BATCH = /^\/segment\/v1\/(batch|b)$/;
const SEGMENT_SINGLE = /^\/segment\/v1\/(track|identify|page|screen|group|alias|t|i|p|s|g|a)$/;
const SEGMENT_TYPES: Record<string, string> = {
  t: 'track',
  i: 'identify',
  p: 'page',
  s: 'screen',
  g: 'group',
  a: 'alias',
};

/** Path param kind: the route's own declaration, else its name (`orgId` → `org`). */
const kindOf = (route: RouteEntry, name: string) => route.tenantParams[name] ?? name.replace(/Id$/, '');

function pools(
  world: FuzzWorld,
  actor: Actor | 'admin' | 'anonymous',
  kind: string,
  destructive: boolean | 'offboard',
) {
  const all = (a: Actor) => world.orgs[a].ids[kind] ?? [];
  if (actor === 'admin' || actor === 'anonymous') {
    const spare = destructive === 'offboard' ? world.spareOrgIds.slice(0, 1) : world.spareOrgIds;
    const orgIds = kind === 'org' ? [...(destructive ? [] : [...all('A'), ...all('B')]), ...spare] : [];
    return {
      own: [...orgIds, ...(kind === 'org' ? [] : [...all('A'), ...all('B')])],
      others: [] as string[],
    };
  }
  const mine = world.orgs[actor];
  const own = [...all(actor), ...(kind === 'user' ? [mine.privateUser.userId] : [])].filter(
    (id) => !(destructive && mine.protected.has(id)),
  );
  return { own, others: all(other(actor)) };
}

/** Any id of the world, of any kind; for a target, none it must keep (see isTarget). */
function anyId(world: FuzzWorld, target: boolean | 'offboard' = false) {
  const all = [
    ...(['A', 'B'] as const).flatMap((a) => Object.values(world.orgs[a].ids).flat()),
    ...world.spareOrgIds,
  ];
  if (!target) return fc.constantFrom(...all);
  const kept = new Set([
    ...(['A', 'B'] as const).flatMap((a) => [...world.orgs[a].protected, world.orgs[a].org.id]),
    ...(target === 'offboard' ? world.spareOrgIds.slice(1) : []),
  ]);
  return fc.constantFrom(...all.filter((id) => !kept.has(id)));
}

function idArb(
  own: string[],
  others: string[],
  world: FuzzWorld,
  target: boolean | 'offboard' = false,
): fc.Arbitrary<string> {
  const choices: fc.WeightedArbitrary<string>[] = [
    { weight: 3, arbitrary: hostileStringArb() },
    { weight: 1, arbitrary: anyId(world, target) },
  ];
  if (own.length > 0) choices.push({ weight: 12, arbitrary: fc.constantFrom(...own) });
  if (others.length > 0) {
    choices.push({ weight: 3, arbitrary: fc.constantFrom(...others) });
    choices.push({ weight: 1, arbitrary: fc.constantFrom(...others).chain(lookalike) });
  }
  return fc.oneof(...choices);
}

function credentialArb(route: RouteEntry, world: FuzzWorld) {
  const org = (a: Actor) => world.orgs[a];
  const as = (actor: FuzzRequest['actor'], header: string | undefined) => ({ actor, header });
  const partner = (a: Actor) =>
    fc.oneof(
      {
        weight: 12,
        arbitrary: fc.constant(
          as(a, `Bearer ${route.auth === 'publishable' ? org(a).publishableKey : org(a).org.secret}`),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constant(
          as(a, `Bearer ${route.auth === 'publishable' ? org(a).org.secret : org(a).publishableKey}`),
        ),
      },
      { weight: 1, arbitrary: fc.constant(as(a, `Bearer ${org(a).revokedKey}`)) },
      { weight: 1, arbitrary: fc.constant(as(a, `bearer   ${org(a).org.secret}   `)) },
      {
        weight: 1,
        arbitrary: fc.constant(as(a, `Basic ${Buffer.from(`${org(a).org.secret}:`).toString('base64')}`)),
      },
    );
  let stranger = fc.constantFrom(
    as('anonymous', undefined),
    as('anonymous', 'Bearer lyr_sk_not-a-key'),
    as('anonymous', `Bearer lyr_sk_${'A'.repeat(33)}`),
    as('anonymous', `Bearer ${'x'.repeat(10 * 1024)}`),
    as('anonymous', 'Bearer'),
  );
  if (route.auth !== 'admin')
    stranger = fc.oneof(stranger, fc.constant(as('anonymous', `Bearer ${ADMIN_TOKEN}`)));
  if (route.auth === 'admin')
    return fc.oneof(
      { weight: 12, arbitrary: fc.constant(as('admin', `Bearer ${ADMIN_TOKEN}`)) },
      { weight: 1, arbitrary: partner('A') },
      { weight: 1, arbitrary: stranger },
    );
  // Open routes draw an org's own secrets (its invitation tokens, its password) only as that org:
  // often enough that a one-time secret's route (sign-up) is reached past validation in 100 draws.
  if (route.auth === 'none')
    return fc.oneof({ weight: 3, arbitrary: stranger }, { weight: 2, arbitrary: partner('B') });
  // A console session (its cookie; on state changes mostly with its CSRF token, sometimes without).
  const session = (a: Actor) =>
    fc
      .oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
      .map((withCsrf) => ({
        actor: a,
        header: undefined as string | undefined,
        session: { cookie: org(a).console.cookie, csrf: withCsrf ? org(a).console.csrf : undefined },
      }));
  const bogusSession = fc.constant({
    actor: 'anonymous' as const,
    header: undefined as string | undefined,
    session: { cookie: `layers_session=${'x'.repeat(43)}`, csrf: 'x'.repeat(43) },
  });
  if (route.auth === 'session')
    return fc.oneof(
      { weight: 6, arbitrary: session('A') },
      { weight: 6, arbitrary: session('B') },
      { weight: 1, arbitrary: bogusSession },
      { weight: 1, arbitrary: stranger },
    );
  const consoleMayCall = PARTNER_ROUTE_ROLES[`${route.method} ${route.url}`] !== undefined;
  return fc.oneof(
    { weight: 6, arbitrary: partner('A') },
    { weight: 6, arbitrary: partner('B') },
    { weight: 1, arbitrary: stranger },
    ...(consoleMayCall
      ? [
          { weight: 2, arbitrary: session('A') },
          { weight: 2, arbitrary: session('B') },
        ]
      : []),
  );
}

function hintsFor(world: FuzzWorld, actor: FuzzRequest['actor'], destructive: boolean): FieldHints {
  const hostileSometimes = (arb: fc.Arbitrary<string>) =>
    fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: hostileStringArb() });
  return (name) => {
    if (name === 'url')
      return hostileSometimes(
        fc.constantFrom(
          'https://hooks.example.com/fuzz',
          'https://hooks.example.com/a?b=c',
          'http://127.0.0.1/',
        ),
      );
    const own = actor === 'A' || actor === 'B' ? world.orgs[actor].console : undefined;
    // The console's secrets, only for the org's own requests: its password (sign-in and
    // re-authentication; a new password is the same one, so later draws still know it), its
    // invitation tokens, its owner's email (sign-in).
    if (name === 'password' || name === 'new_password')
      return own && name === 'new_password'
        ? fc.constant(own.password)
        : hostileSometimes(
            own
              ? fc.oneof(
                  { weight: 3, arbitrary: fc.constant(own.password) },
                  { weight: 1, arbitrary: fc.string() },
                )
              : fc.string(),
          );
    if (name === 'token' && own)
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...own.invitationTokens) },
        { weight: 1, arbitrary: fc.string() },
      );
    if (name === 'new_email') return hostileSometimes(fc.emailAddress());
    const privateEmails = [world.orgs.A.privateUser.email, world.orgs.B.privateUser.email];
    if (name === 'email' && own)
      return hostileSometimes(fc.oneof(fc.emailAddress(), fc.constantFrom(...privateEmails, own.email)));
    if (name === 'email')
      return hostileSometimes(fc.oneof(fc.emailAddress(), fc.constantFrom(...privateEmails)));
    if (name === 'email_sha256')
      return fc.oneof(
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.constantFrom(...privateEmails.map((e) => createHash('sha256').update(e).digest('hex'))),
      );
    if (name === 'phone') return hostileSometimes(fc.constantFrom('+1 (650) 555-1212', '07700 900123'));
    if (name === 'countries_of_processing')
      return fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('DE', 'US', 'GB', 'FR', 'CH', 'BR') },
        { weight: 1, arbitrary: fc.constantFrom('XX', 'zz', 'ÅÅ') },
      );
    // A platform's own ids (Meta dataset, TikTok app): numeric, never a Layers object.
    if (name === 'pixel_id' || name === 'event_source_id')
      return hostileSometimes(fc.stringMatching(/^[0-9]{6,20}$/));
    if (name === 'overrides.*') return fc.constantFrom('90d', '36h', '400d', '1h', '7d', '10000000d', '-1d');
    if (ID_FIELD.test(name) || PAGE_CURSOR.has(name)) {
      const kind = name === 'project_id' ? 'project' : name === 'webhook_id' ? 'webhook' : undefined;
      if (!kind) return hostileSometimes(anyId(world));
      const { own, others } = pools(world, actor, kind, destructive);
      return idArb(own, others, world);
    }
    return undefined;
  };
}

/** Every property name a schema declares, at any depth. */
function declaredNames(schema: Schema | undefined, out = new Set<string>()): Set<string> {
  if (!schema) return out;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    out.add(key);
    declaredNames(child, out);
  }
  declaredNames(schema.items, out);
  for (const child of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) declaredNames(child, out);
  return out;
}

/**
 * String values sent, and those that reference an object by id: an id-named field the route declares
 * (an undeclared one is refused or ignored, so another org's id there proves nothing).
 */
function collectStrings(v: unknown, out: string[], idOut: string[], declared: Set<string>, key = ''): void {
  if (typeof v === 'string') {
    out.push(v);
    if (isIdRef(key) && declared.has(key)) idOut.push(v);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, child] of Object.entries(v))
      collectStrings(child, out, idOut, declared, Array.isArray(v) ? key : k);
  }
}

export function requestArb(route: RouteEntry, world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const mutating = MUTATING.has(route.method);
  const paramNames = [...route.url.matchAll(/:(\w+)|\*/g)].map((m) => m[1] ?? '*');
  const querySchema = route.schema.querystring as Schema | undefined;
  const bodySchema = route.schema.body as Schema | undefined;
  const bodyNames = declaredNames(bodySchema);
  const hasBody = mutating && route.method !== 'DELETE';
  return credentialArb(route, world).chain((credential) => {
    const { actor, header } = credential;
    const session = 'session' in credential ? credential.session : undefined;
    const hints = hintsFor(world, actor, false);
    const otherIds =
      actor === 'A' || actor === 'B' ? Object.values(world.orgs[other(actor)].ids).flat() : world.spareOrgIds;
    const hostile = hostileValueArb(
      fc.constantFrom(...otherIds).chain((id) => fc.oneof(fc.constant(id), lookalike(id))),
    );
    const params = fc.tuple(
      ...paramNames.map((name) => {
        const target = isTarget(route, name);
        const { own, others } = pools(world, actor, kindOf(route, name), target);
        return name === '*'
          ? fc.oneof(fc.constantFrom('index.html', 'x.js'), hostileStringArb())
          : idArb(own, others, world, target);
      }),
    );
    const query = fc.record({
      declared: querySchema?.properties
        ? fc.record(
            Object.fromEntries(
              Object.entries(querySchema.properties).map(([k, s]) => [
                k,
                fc.oneof(
                  { weight: 4, arbitrary: fc.constant(undefined) },
                  { weight: 3, arbitrary: validArb(s, hints, k) },
                  { weight: 1, arbitrary: hostile },
                ),
              ]),
            ),
          )
        : fc.constant({}),
      extra: fc.oneof(
        { weight: 6, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.tuple(hostileStringArb(), hostileStringArb()) },
      ),
    });
    const segmentType = SEGMENT_SINGLE.exec(route.url)?.[1];
    const baseBody =
      route.url === INGEST
        ? fc.record({ batch: fc.array(eventArb(world, actor), { minLength: 1, maxLength: 4 }) })
        : SEGMENT_BATCH.test(route.url)
          ? fc.record({ batch: fc.array(segmentMessageArb(world, actor), { minLength: 1, maxLength: 4 }) })
          : segmentType
            ? segmentMessageArb(world, actor, SEGMENT_TYPES[segmentType] ?? segmentType)
            : bodySchema
              ? validArb(bodySchema, hints)
              : fc.constantFrom(undefined, {});
    const mutation = fc.record({
      at: fc.nat(),
      op: fc.constantFrom('replace', 'replace', 'add', 'delete'),
      key: fc.constantFrom(...EXTRA_KEYS),
      value: hostile,
    }) as fc.Arbitrary<Mutation>;
    const body = fc.oneof(
      {
        weight: 12,
        arbitrary: fc
          .tuple(
            baseBody,
            fc.oneof(fc.constant<Mutation[]>([]), fc.array(mutation, { minLength: 1, maxLength: 3 })),
          )
          .map(([b, m]) => ({ json: mutate(b, m) })),
      },
      { weight: 1, arbitrary: hostile.map((json) => ({ json })) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES).map((raw) => ({ raw })) },
    );
    const headers = fc.record(
      {
        'content-type': fc.oneof(
          { weight: 20, arbitrary: fc.constant('application/json') },
          {
            weight: 2,
            arbitrary: fc.constantFrom(
              'application/json; charset=utf-8',
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              'application/json; charset=utf-16',
              'Application/JSON',
              'application/jsonx',
              '',
            ),
          },
        ),
        'idempotency-key': fc.oneof(
          // A few keys reused across requests and routes (replays, 422s), mostly fresh ones.
          { weight: 2, arbitrary: fc.constantFrom('fuzz-key-1', 'fuzz-key-2', 'fuzz-key-3') },
          { weight: 8, arbitrary: fc.uuid() },
          { weight: 1, arbitrary: hostileStringArb() },
          { weight: 1, arbitrary: fc.constant('k'.repeat(256)) },
        ),
        accept: fc.constantFrom('application/x-ndjson', '*/*', 'text/html', 'application/json;q=0', '\u00ff'),
        'x-forwarded-for': fc.constantFrom('81.2.69.160', '1.1.1.1, 2.2.2.2', 'garbage', '::1'),
        'x-fuzz': hostileStringArb(),
      },
      { requiredKeys: [] },
    );
    return fc
      .record({ params, query, body: hasBody ? body : fc.constant(undefined), headers })
      .map((draw) => {
        const sentStrings: string[] = [];
        const idValues: string[] = [];
        let path = route.url;
        paramNames.forEach((name, i) => {
          const value = draw.params[i] as string;
          sentStrings.push(value);
          const kind = kindOf(route, name);
          if (name !== '*' && kind !== 'user') idValues.push(value);
          path = path.replace(name === '*' ? '*' : `:${name}`, encodeComponent(value));
        });
        const pairs: [string, string][] = [];
        for (const [k, v] of Object.entries(draw.query.declared)) {
          if (v === undefined) continue;
          for (const s of asQueryValues(v)) pairs.push([k, s]);
          // A query value filters or pages a list: another org's id there rightly finds nothing.
          collectStrings(v, sentStrings, [], new Set(), k);
        }
        if (draw.query.extra) {
          pairs.push(draw.query.extra);
          sentStrings.push(...draw.query.extra);
        }
        const qs = pairs.map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join('&');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(draw.headers)) {
          if (k === 'content-type' && !hasBody) continue;
          if (k === 'idempotency-key' && !mutating) continue;
          headers[k] = latin1(v as string);
          sentStrings.push(headers[k] as string);
        }
        if (header !== undefined) headers.authorization = header;
        if (session) {
          headers.cookie = session.cookie;
          if (mutating && session.csrf) headers['x-csrf-token'] = session.csrf;
        }
        let payload: string | undefined;
        if (draw.body !== undefined) {
          if ('raw' in draw.body) payload = draw.body.raw;
          else if (draw.body.json !== undefined) {
            payload = JSON.stringify(draw.body.json);
            collectStrings(draw.body.json, sentStrings, idValues, bodyNames);
          }
        }
        if (payload === undefined) delete headers['content-type'];
        else headers['content-type'] ??= 'application/json';
        return {
          actor,
          method: route.method,
          url: qs ? `${path}?${qs}` : path,
          headers,
          payload,
          idValues,
          sentStrings: sentStrings.filter((s) => s.length >= 8),
        };
      });
  });
}
