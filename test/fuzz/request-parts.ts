import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Actor, FuzzWorld } from './fuzz-world.ts';
import { hostileStringArb } from './schema-arbitraries.ts';

/**
 * The pieces of a fuzz request that no schema gives: SDK events (the ingest body is free-form JSON,
 * so its shape comes from API.md), hostile mutations of a valid body, raw non-JSON bodies, and the
 * encodings a client puts values in on the wire.
 */
// --- SDK events: the ingest body is free-form JSON, so its shape comes from API.md, not a schema --

export function eventArb(world: FuzzWorld, actor: Actor | 'admin' | 'anonymous'): fc.Arbitrary<unknown> {
  const users = (['A', 'B'] as const).flatMap((a) => world.orgs[a].ids.user ?? []);
  const own =
    actor === 'A' || actor === 'B'
      ? [...(world.orgs[actor].ids.user ?? []), world.orgs[actor].privateUser.userId]
      : users;
  const recent = fc
    .integer({ min: 0, max: 30 * 24 * 3600 })
    .map((s) => new Date(Date.now() - s * 1000).toISOString());
  return fc.record(
    {
      event_id: fc.oneof(fc.uuid(), fc.constant(randomUUID()), hostileStringArb()),
      type: fc.constantFrom('track', 'identify'),
      event: fc.constantFrom('purchase', 'signup', 'screen_view'),
      user_id: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...own) },
        { weight: 1, arbitrary: fc.constantFrom(...users) },
        { weight: 2, arbitrary: hostileStringArb() },
      ),
      anonymous_id: fc.string({ minLength: 1, maxLength: 20 }),
      timestamp: fc.oneof({ weight: 5, arbitrary: recent }, { weight: 1, arbitrary: hostileStringArb() }),
      app_id: fc.constantFrom('com.example.app', 'com.example.other'),
      properties: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), {
        maxKeys: 4,
      }),
      traits: fc.record(
        {
          email: fc.oneof(fc.emailAddress(), fc.constant(' Person@Example.com ')),
          phone: fc.constantFrom('+1 (650) 555-1212', '+44 7700 900123'),
          plan: fc.constantFrom('pro', 'free'),
        },
        { requiredKeys: [] },
      ),
      context: fc.record(
        {
          ip: fc.constantFrom('81.2.69.160', '2001:db8::1', '::1', '999.1.1.1', '81.2.69.160:443'),
          device: fc.record({ idfa: fc.uuid() }, { requiredKeys: [] }),
          os: fc.constant({ name: 'iOS', version: '18.1' }),
          locale: fc.constantFrom('en-US', 'de-DE'),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['event_id', 'type', 'user_id', 'timestamp'] },
  );
}

/** The same events as Segment messages (the Segment-compatible routes' body is free-form too). */
export function segmentMessageArb(
  world: FuzzWorld,
  actor: Actor | 'admin' | 'anonymous',
  type?: string,
): fc.Arbitrary<unknown> {
  return fc
    .tuple(eventArb(world, actor), fc.constantFrom('track', 'identify', 'page', 'screen', 'alias', 'group'))
    .map(([e, drawn]) => {
      const ev = e as Record<string, unknown>;
      const context = (ev.context ?? {}) as Record<string, unknown>;
      return {
        type: type ?? drawn,
        messageId: ev.event_id,
        userId: ev.user_id,
        anonymousId: ev.anonymous_id,
        previousId: ev.anonymous_id,
        event: ev.event,
        name: 'Home',
        timestamp: ev.timestamp,
        properties: ev.properties,
        traits: ev.traits,
        context: { ...context, app: { namespace: ev.app_id } },
      };
    });
}

// --- mutations: a hostile value anywhere in a valid body -------------------------------------------

export type Mutation = { at: number; op: 'replace' | 'add' | 'delete'; key: string; value: unknown };

export const EXTRA_KEYS = [
  '__proto__',
  'constructor',
  'extra',
  '',
  'x'.repeat(200),
  '\u0000',
  '\ud800',
  'id',
  'org_id',
];

function containers(root: unknown): { parent: unknown; key: string | number | undefined }[] {
  const out: { parent: unknown; key: string | number | undefined }[] = [
    { parent: undefined, key: undefined },
  ];
  const visit = (v: unknown, depth: number) => {
    if (out.length > 200 || depth > 12 || typeof v !== 'object' || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      out.push({ parent: v, key: Array.isArray(v) ? Number(k) : k });
      visit(child, depth + 1);
    }
  };
  visit(root, 0);
  return out;
}

const define = (target: object, key: string | number, value: unknown) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });

export function mutate(body: unknown, mutations: Mutation[]): unknown {
  // A JSON copy keeps `__proto__` keys as own properties and lone surrogates as they are.
  let root = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  for (const mutation of mutations) {
    // Hostile values are shared constants: insert a copy, so that a later mutation cannot change them.
    const m = {
      ...mutation,
      value: mutation.value === undefined ? undefined : JSON.parse(JSON.stringify(mutation.value)),
    };
    const spots = containers(root);
    const spot = spots[m.at % spots.length] as (typeof spots)[number];
    const target = spot.key === undefined ? root : (spot.parent as Record<string, unknown>)[spot.key];
    if (m.op === 'replace') {
      if (spot.key === undefined) root = m.value;
      else define(spot.parent as object, spot.key, m.value);
    } else if (m.op === 'add' && typeof target === 'object' && target !== null) {
      if (Array.isArray(target)) target.push(m.value);
      else define(target, m.key, m.value);
    } else if (m.op === 'delete' && spot.key !== undefined) {
      if (Array.isArray(spot.parent)) spot.parent.splice(Number(spot.key), 1);
      else delete (spot.parent as Record<string, unknown>)[spot.key];
    }
  }
  return root;
}

// --- encoding as a client would send it ------------------------------------------------------------

/** encodeURIComponent, except that a lone surrogate is sent as its (invalid) WTF-8 bytes. */
export function encodeComponent(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(char);
  }
  return out;
}

/** Header values travel as Latin-1 without control characters; anything else cannot be sent. */
export const latin1 = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');

export const asQueryValues = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.slice(0, 5).map((x) => String(x))
    : [typeof v === 'object' ? JSON.stringify(v) : String(v)];

const HUGE_BODY = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) });
export const RAW_BODIES = [
  '{"name": ',
  '{',
  'null',
  '"str"',
  '[]',
  '{"a":1}{"b":2}',
  ' ',
  '{"name":"x"} trailing',
  HUGE_BODY,
];

/** String values sent (keys are not: a field's name is rightly named in an error's `param`). */
