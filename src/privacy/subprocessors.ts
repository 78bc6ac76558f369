import { readFileSync } from 'node:fs';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError } from '../config.ts';
import { EGRESS_PURPOSES, EgressPurposeSchema } from '../egress/egress-types.ts';

/**
 * The sub-processor list: every vendor that stores or handles partner or end-customer data, with
 * purpose, data categories and location. It lives in a JSON file (config/subprocessors.json, or
 * LAYERS_SUBPROCESSORS_FILE) read once at start-up; a malformed file stops the process, because a
 * page that silently lists nobody would be a false statement.
 *
 * The same entries are the egress gateway's allowlist (src/egress/): a vendor with an `id`, its
 * `hosts` and its `egress_purposes` may be called, for those purposes, at those hosts, and nothing
 * else may. So the list the page shows and the hosts the code can reach cannot drift apart.
 */
const Text = Type.String({ minLength: 1, maxLength: 500 });

/**
 * A host the egress gateway may reach for this vendor: a lower-case DNS name, or `*.` and a name,
 * where `*` stands for exactly one label (an S3 bucket in virtual-hosted style).
 */
export const HOST_PATTERN =
  '^(\\*\\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$';

export const Subprocessor = Type.Object(
  {
    /** The vendor's id in egress call descriptions and the egress ledger (e.g. `meta`). */
    id: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{1,39}$', description: 'e.g. meta, openai' })),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'e.g. llm, hosting' })),
    purpose: Text,
    data_categories: Type.Array(Text, { minItems: 1, maxItems: 20 }),
    location: Type.String({ minLength: 1, maxLength: 200 }),
    notes: Type.Optional(Text),
    /** The only hosts the egress gateway lets a call to this vendor reach. No hosts: never called. */
    hosts: Type.Optional(
      Type.Array(Type.String({ pattern: HOST_PATTERN, maxLength: 253 }), { minItems: 1, maxItems: 50 }),
    ),
    /** What the gateway may call this vendor for (egress purposes: oauth, publishing, llm, …). */
    egress_purposes: Type.Optional(
      Type.Array(EgressPurposeSchema, { minItems: 1, maxItems: EGRESS_PURPOSES.length }),
    ),
  },
  { additionalProperties: false },
);

const SubprocessorFile = Type.Object({
  $comment: Type.Optional(Type.String()),
  subprocessors: Type.Array(Subprocessor, { maxItems: 200 }),
});

export type SubprocessorEntry = Static<typeof Subprocessor>;

export function loadSubprocessors(file: string): readonly SubprocessorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const why = error instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read';
    throw new ConfigError(`the sub-processor list ${file} ${why} (LAYERS_SUBPROCESSORS_FILE)`);
  }
  if (!Value.Check(SubprocessorFile, parsed)) {
    const first = [...Value.Errors(SubprocessorFile, parsed)][0];
    throw new ConfigError(
      `the sub-processor list ${file} is invalid at '${first?.instancePath ?? ''}': ${first?.message ?? 'unknown'}`,
    );
  }
  const ids = new Set<string>();
  for (const [i, s] of parsed.subprocessors.entries()) {
    const at = `the sub-processor list ${file} is invalid at '/subprocessors/${i}'`;
    const reachable = s.hosts !== undefined || s.egress_purposes !== undefined;
    if (reachable && (s.id === undefined || s.hosts === undefined || s.egress_purposes === undefined))
      throw new ConfigError(`${at}: a vendor the gateway may call needs id, hosts and egress_purposes`);
    if (s.id !== undefined) {
      if (ids.has(s.id)) throw new ConfigError(`${at}: the id '${s.id}' is used twice`);
      ids.add(s.id);
    }
  }
  return Object.freeze(
    parsed.subprocessors.map((s) =>
      Object.freeze({
        ...s,
        ...(s.hosts ? { hosts: Object.freeze([...s.hosts]) as string[] } : {}),
        ...(s.egress_purposes
          ? { egress_purposes: Object.freeze([...s.egress_purposes]) as typeof s.egress_purposes }
          : {}),
      }),
    ),
  );
}
