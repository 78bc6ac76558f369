import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Clock } from '../../lib/clock.ts';
import { defaultRetentionMs } from '../../privacy/data-classes.ts';

/**
 * Purges data past its retention, class by class, in bounded batches (so one run never holds long
 * locks) and idempotently (running it twice, or on two workers at once, deletes each row once).
 * Returns counts per data class for the log line and metrics; never any row content.
 */
const BATCH = 5_000;

export type SweepReport = Record<string, number>;

async function deleteInBatches(
  db: Kysely<Database>,
  statement: (limit: number) => ReturnType<typeof sql>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await statement(BATCH).execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    total += n;
    if (n < BATCH) return total;
  }
}

export function createRetentionSweeper(deps: { db: Kysely<Database>; clock: Clock }) {
  return {
    async sweep(): Promise<SweepReport> {
      const now = deps.clock.now();
      const requestLogCutoff = new Date(now.getTime() - defaultRetentionMs('request_log'));
      const request_log = await deleteInBatches(
        deps.db,
        (limit) => sql`DELETE FROM request_log WHERE id IN (
          SELECT id FROM request_log WHERE created_at < ${requestLogCutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`,
      );
      const idempotency_cache = await deleteInBatches(
        deps.db,
        (limit) => sql`DELETE FROM idempotency_keys WHERE (org_id, key) IN (
          SELECT org_id, key FROM idempotency_keys WHERE expires_at <= ${now} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`,
      );
      return { request_log, idempotency_cache };
    },
  };
}

export type RetentionSweeper = ReturnType<typeof createRetentionSweeper>;
