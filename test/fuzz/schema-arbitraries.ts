import fc from 'fast-check';

/**
 * fast-check arbitraries from a route's JSON Schema (as TypeBox builds it): values that satisfy the
 * schema, and hostile values to put anywhere in them. A new route, or a new field of a route, is fuzzed
 * from its schema without anyone writing a generator for it.
 */
export type Schema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  patternProperties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  maxProperties?: number;
  minProperties?: number;
};

/** Picks a value for a string field by its name (ids from the world's pools, URLs that can be valid). */
export type FieldHints = (name: string) => fc.Arbitrary<string> | undefined;

const ISO_DATE = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

function stringArb(schema: Schema, name: string, hints: FieldHints): fc.Arbitrary<string> {
  const hinted = hints(name);
  if (hinted) return hinted;
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 40, Math.max(minLength, 40));
  if (schema.format === 'date-time') return ISO_DATE;
  if (schema.pattern) {
    return fc
      .stringMatching(new RegExp(schema.pattern), { maxLength })
      .filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY));
  }
  return fc.string({ minLength, maxLength });
}

/** A value that satisfies `schema` (approximately: an invalid one now and then is fine for a fuzz). */
export function validArb(schema: Schema | undefined, hints: FieldHints, name = ''): fc.Arbitrary<unknown> {
  if (!schema || Object.keys(schema).length === 0) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((s) => validArb(s, hints, name)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringArb(schema, name, hints);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const item = validArb(schema.items, hints, name);
      const constraints = {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, Math.max(schema.minItems ?? 0, 4)),
      };
      return schema.uniqueItems
        ? fc.uniqueArray(item, { ...constraints, selector: (v) => JSON.stringify(v) })
        : fc.array(item, constraints);
    }
    case 'object':
      return objectArb(schema, hints, name);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectArb(schema: Schema, hints: FieldHints, name: string): fc.Arbitrary<unknown> {
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(schema.properties ?? {}).map(
    ([key, s]) => [key, validArb(s, hints, key), required.has(key)] as const,
  );
  const optional = fields.filter(([, , isRequired]) => !isRequired).map(([key]) => key);
  const patterns = Object.entries(schema.patternProperties ?? {});
  // Which optional fields to send: any subset within maxProperties (a lookup takes exactly one).
  const room = Math.max(0, (schema.maxProperties ?? Number.POSITIVE_INFINITY) - required.size);
  const chosen = fc.subarray(optional, {
    minLength: Math.min(optional.length, Math.max(0, (schema.minProperties ?? 0) - required.size)),
    maxLength: Math.min(optional.length, room),
  });
  const record = fc
    .tuple(fc.record(Object.fromEntries(fields.map(([key, arb]) => [key, arb]))), chosen)
    .map(([all, keys]) =>
      Object.fromEntries(Object.entries(all).filter(([key]) => required.has(key) || keys.includes(key))),
    );
  const extra =
    patterns.length > 0
      ? fc.dictionary(
          fc.oneof(
            ...patterns.map(([p]) => fc.stringMatching(new RegExp(p), { maxLength: 24 })),
            // Keys that name things (here: data classes) are most often real ones.
            ...Array.from({ length: 4 }, () =>
              fc.constantFrom('request_log', 'sdk_events', 'audit_log', 'idempotency_cache'),
            ),
          ),
          fc.oneof(...patterns.map(([, s]) => validArb(s, hints, `${name}.*`))),
          { maxKeys: Math.min(schema.maxProperties ?? 3, 3) },
        )
      : fc.constant({});
  return fc.tuple(record, extra).map(([fixed, more]) => {
    return { ...more, ...fixed };
  });
}

// --- hostile values -------------------------------------------------------------------------------

const KB10 = 10 * 1024;

/** Strings that break naive code: NUL, lone surrogates, 10 KB, normalisation forms, injection, dates. */
export const HOSTILE_STRINGS: readonly string[] = [
  '\u0000',
  'a\u0000b',
  '%00',
  '\ud800',
  'x\udfff',
  'pre\ud83d',
  '\udc00\ud800',
  'x'.repeat(KB10),
  'é'.repeat(KB10 / 2),
  '😀'.repeat(KB10 / 4),
  'e\u0301',
  '\u00e9',
  '\ufb01',
  '\u212b',
  '\u212a',
  '\uff50\uff52\uff4f\uff4a_',
  '\u200b',
  '\u202e\u2066',
  ' ',
  '',
  '.',
  '..',
  '../../etc/passwd',
  '/',
  '%',
  '%2F',
  '?x=1',
  '#',
  "' OR '1'='1",
  '"; DROP TABLE projects; --',
  '\\',
  ['$', '{7*7}'].join(''),
  '<script>alert(1)</script>',
  '\r\nX-Injected: 1',
  '\t',
  '\u2028',
  '\uffff',
  '\ufeff',
  'null',
  'true',
  '-1',
  '1e309',
  'NaN',
  '0x10',
  ' 1',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2026-02-30T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '-000001-01-01T00:00:00Z',
  '2026-12-01T25:00:00Z',
  '1970-01-01T00:00:00Z',
  '__proto__',
  'constructor',
  'İı',
];

export const HOSTILE_NUMBERS: readonly number[] = [
  -1,
  0,
  -0,
  1.5,
  -2_147_483_649,
  2_147_483_648,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  1e308,
  -1e308,
  5e-324,
  1e21,
  2 ** 63,
];

function nested(depth: number, kind: 'array' | 'object'): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { k: v };
  return v;
}

/** Same letters, other code points: NFD, NFKC-equivalents, case, invisible characters. */
export function lookalike(id: string): fc.Arbitrary<string> {
  return fc.constantFrom(
    id.toUpperCase(),
    ` ${id}`,
    `${id} `,
    `${id}\u200b`,
    id.replace(/_/, '\uff3f'),
    id.replace(/[0-9]/, (d) => String.fromCharCode(0xff10 + Number(d))),
    id.normalize('NFD').replace(/o/, 'o\u0308'),
    `${id.slice(0, -1)}`,
    `${id}0`,
    `${id}%00`,
    `${id}\u0000`,
    `${id.slice(0, 3)}\ud800${id.slice(3)}`,
  );
}

export function hostileStringArb(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  );
}

/** A hostile JSON value: `ids` are other orgs' ids (and lookalikes of them), the rest is generic. */
export function hostileValueArb(ids: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: hostileStringArb() },
    { weight: 3, arbitrary: ids },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<unknown>(
        null,
        true,
        false,
        [],
        {},
        [null],
        [[]],
        { '': '' },
        nested(9, 'object'),
        nested(31, 'array'),
        nested(33, 'object'),
        nested(500, 'array'),
        Array.from({ length: 1001 }, (_, i) => i),
        Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, i])),
        JSON.parse('{"__proto__": {"polluted": true}}'),
        JSON.parse('{"constructor": {"prototype": {"polluted": true}}}'),
      ),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}
