import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { DataClass, PurgeKind } from '../../privacy/data-classes.ts';
import type { RetentionGroup } from '../../privacy/retention-policy.ts';

/**
 * The contract between the retention sweeper and the purger of each purge kind the registry names.
 * A purger deletes what a class's own clock says is past retention; partnership-end and project
 * purges are generic (driven by the class's tables) and live in the sweeper.
 */

/** Rows per batch of a purge: one short transaction each. */
export const PURGE_BATCH = 5_000;

export type { RetentionGroup };

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

/** The purger of every purge kind the registry can name (a missing kind fails the type check). */
export type ClassPurgers = Readonly<Record<PurgeKind, ClassPurger>>;

export const NOTHING_PURGED: PurgeOutcome = Object.freeze({ rows: 0, partitions: [] }) as PurgeOutcome;
