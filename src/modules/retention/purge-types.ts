import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { DataClass } from '../../privacy/data-classes.ts';

/**
 * The contract between the retention sweeper and each data class's purge code. A class's purger
 * deletes what its own clock says is past retention; partnership-end and project purges are
 * generic (driven by the class's tables) and live in the sweeper.
 */

/**
 * Orgs sharing one effective retention. `orgIds: null` means every org (no org has a contract
 * value for this class), which lets a purge run one statement instead of one per org.
 */
export type RetentionGroup = { ms: number; orgIds: readonly string[] | null };

export type PurgeContext = {
  /** The system (owner) connection: retention works across tenants. */
  db: Kysely<Database>;
  now: Date;
  cls: DataClass;
  /** Effective retention by org; empty when the class has no clock-based retention. */
  groups: readonly RetentionGroup[];
  batchSize: number;
};

export type DroppedPartition = { name: string; estimatedRows: number };

export type PurgeOutcome = {
  /** Rows deleted one by one (exact). */
  rows: number;
  /** Whole partitions dropped (their rows are estimated from statistics: a drop does not count). */
  partitions: DroppedPartition[];
};

/** What `layers verify` reports: rows that should already be gone. Counts only, never content. */
export type OverdueRows = { table: string; rows: number };

export type ClassPurger = {
  /** Deletes what is past retention at `ctx.now`; batched, resumable, safe to run twice at once. */
  purge(ctx: PurgeContext): Promise<PurgeOutcome>;
  /** Counts what `purge` would delete at `ctx.now`, without deleting anything. */
  overdue(ctx: PurgeContext): Promise<OverdueRows[]>;
};

export const NOTHING_PURGED: PurgeOutcome = Object.freeze({ rows: 0, partitions: [] }) as PurgeOutcome;
