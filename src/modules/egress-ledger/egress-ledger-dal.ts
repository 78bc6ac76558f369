import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import type { Database } from '../../db/schema.ts';
import type { EgressPurpose } from '../../egress/egress-types.ts';
import { COPY_COLUMNS, copyTuplesIn } from './egress-ledger-copy.ts';

/** SQL of the egress ledger (migrations 0014, 0027): appends on the system connection, reads per tenant. */
export type EgressLedgerRow = {
  id: string;
  org_id: string;
  project_id: string | null;
  vendor: string;
  host: string;
  purpose: string;
  data_classes: readonly string[];
  records: number;
  bytes_out: number;
  bytes_in: number;
  attempts: number;
  status: number | null;
  outcome: 'ok' | 'http_error' | 'rate_limited' | 'timeout' | 'network_error' | 'response_too_large';
  latency_ms: number;
  created_at: Date;
};

/** What the writer is given: a row, whose id the writer makes (time-ordered) when it has none. */
export type EgressLedgerEntry = Omit<EgressLedgerRow, 'id'> & { id?: string };

export type EgressRollupFilters = { since: Date; until: Date; vendor?: string; purpose?: string };

export type EgressRollupRow = {
  date: string;
  vendor: string;
  purpose: EgressPurpose;
  data_classes: string[];
  requests: number;
  records: number;
  bytes: number;
  bytes_in: number;
  errors: number;
};

const COPY_LEDGER = `COPY egress_ledger (${COPY_COLUMNS}) FROM STDIN (FORMAT binary)`;
/**
 * A row `r` whose id is not written yet. The table has no key on `id` (migration 0027: one index,
 * `(org_id, project_id, created_at)`, for every reader), so the same row is looked for through that
 * index: its org and time, then its id.
 */
const NOT_WRITTEN =
  'NOT EXISTS (SELECT 1 FROM egress_ledger l WHERE l.org_id = r.org_id AND l.created_at = r.created_at AND l.id = r.id)';

export function createEgressLedgerDal() {
  return {
    /**
     * The writer's append: rows already encoded as binary COPY tuples (egress-ledger-copy.ts), in one
     * COPY, committed when it returns. A COPY cannot skip rows already written, so a batch that is
     * retried after a failure goes through copyInSkippingWritten instead.
     */
    async copyIn(client: pg.ClientBase, tuples: readonly Buffer[]): Promise<void> {
      await copyTuplesIn(client, COPY_LEDGER, tuples);
    },

    /**
     * A retried batch (the last attempt may have committed, and only its answer was lost): the tuples
     * are copied into a temporary table first and inserted from there, skipping ids already written.
     */
    async copyInSkippingWritten(client: pg.ClientBase, tuples: readonly Buffer[]): Promise<void> {
      await client.query('BEGIN');
      try {
        await client.query(
          'CREATE TEMPORARY TABLE egress_ledger_retry (LIKE egress_ledger INCLUDING DEFAULTS) ON COMMIT DROP',
        );
        await copyTuplesIn(
          client,
          `COPY egress_ledger_retry (${COPY_COLUMNS}) FROM STDIN (FORMAT binary)`,
          tuples,
        );
        await client.query(
          `INSERT INTO egress_ledger (${COPY_COLUMNS}) SELECT ${COPY_COLUMNS} FROM egress_ledger_retry r WHERE ${NOT_WRITTEN}`,
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },

    /**
     * One multi-row INSERT of row objects (tests and tools that plant rows; the writer copies); rows
     * already written are skipped by id. The rows travel as one JSON parameter.
     */
    async insert(db: Kysely<Database>, rows: readonly EgressLedgerRow[]): Promise<void> {
      if (rows.length === 0) return;
      await sql`
        INSERT INTO egress_ledger (id, org_id, project_id, vendor, host, purpose, data_classes, records,
          bytes_out, bytes_in, attempts, status, outcome, latency_ms, created_at)
        SELECT id, org_id, project_id, vendor, host, purpose, data_classes, records, bytes_out, bytes_in,
          attempts, status, outcome, latency_ms, created_at
        FROM json_populate_recordset(NULL::egress_ledger, ${JSON.stringify(rows)}::json) r
        WHERE ${sql.raw(NOT_WRITTEN)}`.execute(db);
    },

    /**
     * Per UTC day × vendor × purpose × set of data classes, newest day first (`tx` is a tenant
     * transaction: RLS limits it to the org). `requests` counts HTTP attempts, `errors` calls that
     * did not end in a 2xx/3xx answer, `bytes` what was sent.
     */
    async rollup(tx: Kysely<Database>, f: EgressRollupFilters, limit: number): Promise<EgressRollupRow[]> {
      const vendor = f.vendor === undefined ? sql`TRUE` : sql`vendor = ${f.vendor}`;
      const purpose = f.purpose === undefined ? sql`TRUE` : sql`purpose = ${f.purpose}`;
      const { rows } = await sql<{
        date: string;
        vendor: string;
        purpose: EgressPurpose;
        data_classes: string[];
        requests: string;
        records: string;
        bytes: string;
        bytes_in: string;
        errors: string;
      }>`
        SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS date,
          vendor, purpose, data_classes,
          sum(attempts) AS requests, sum(records) AS records, sum(bytes_out) AS bytes,
          sum(bytes_in) AS bytes_in, count(*) FILTER (WHERE outcome <> 'ok') AS errors
        FROM egress_ledger
        WHERE created_at >= ${f.since} AND created_at < ${f.until} AND ${vendor} AND ${purpose}
        GROUP BY 1, 2, 3, 4
        ORDER BY 1 DESC, 2, 3, 4
        LIMIT ${limit}`.execute(tx);
      return rows.map((r) => ({
        date: r.date,
        vendor: r.vendor,
        purpose: r.purpose,
        data_classes: r.data_classes,
        requests: Number(r.requests),
        records: Number(r.records),
        bytes: Number(r.bytes),
        bytes_in: Number(r.bytes_in),
        errors: Number(r.errors),
      }));
    },

    /** Every (vendor, host) pair the ledger holds, with its row count (for `layers verify`; system connection). */
    async vendorHosts(db: Kysely<Database>): Promise<{ vendor: string; host: string; rows: number }[]> {
      const { rows } = await sql<{ vendor: string; host: string; rows: string }>`
        SELECT vendor, host, count(*) AS rows FROM egress_ledger GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
      return rows.map((r) => ({ vendor: r.vendor, host: r.host, rows: Number(r.rows) }));
    },
  };
}

export type EgressLedgerDal = ReturnType<typeof createEgressLedgerDal>;
