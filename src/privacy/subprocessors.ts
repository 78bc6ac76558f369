import { readFileSync } from 'node:fs';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError } from '../config.ts';

/**
 * The sub-processor list: every vendor that stores or handles partner or end-customer data, with
 * purpose, data categories and location. It lives in a JSON file (config/subprocessors.json, or
 * LAYERS_SUBPROCESSORS_FILE) read once at start-up; a malformed file stops the process, because a
 * page that silently lists nobody would be a false statement.
 */
const Text = Type.String({ minLength: 1, maxLength: 500 });

export const Subprocessor = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'e.g. llm, hosting' })),
    purpose: Text,
    data_categories: Type.Array(Text, { minItems: 1, maxItems: 20 }),
    location: Type.String({ minLength: 1, maxLength: 200 }),
    notes: Type.Optional(Text),
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
  return Object.freeze(parsed.subprocessors.map((s) => Object.freeze({ ...s })));
}
