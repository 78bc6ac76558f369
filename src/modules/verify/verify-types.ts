import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/**
 * `layers verify`: self-checks of the data-protection promises against the live database. Each check
 * returns violations that name tables, columns, orgs, counts and row ids that are not personal data,
 * never a stored value.
 */
export type Violation = { message: string } & Record<string, string | number | null>;

export type CheckResult = { name: string; description: string; ok: boolean; violations: Violation[] };

export type VerifyContext = { db: Kysely<Database>; now: Date };

export type Check = { name: string; description: string; run(ctx: VerifyContext): Promise<Violation[]> };
