import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { EgressPurpose } from '../../egress/egress-types.ts';

/** SQL of the egress ledger (migration 0014): appends on the system connection, reads per tenant. */
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

export function createEgressLedgerDal() {
  return {
    /**
     * One multi-row INSERT; rows already written (a retried batch) are skipped by id. The rows travel
     * as one JSON parameter (serialised natively on both sides: cheaper than fifteen array literals).
     */
    async insert(db: Kysely<Database>, rows: readonly EgressLedgerRow[]): Promise<void> {
      if (rows.length === 0) return;
      await sql`
        INSERT INTO egress_ledger (id, org_id, project_id, vendor, host, purpose, data_classes, records,
          bytes_out, bytes_in, attempts, status, outcome, latency_ms, created_at)
        SELECT id, org_id, project_id, vendor, host, purpose, data_classes, records, bytes_out, bytes_in,
          attempts, status, outcome, latency_ms, created_at
        FROM json_populate_recordset(NULL::egress_ledger, ${JSON.stringify(rows)}::json)
        ON CONFLICT (id) DO NOTHING`.execute(db);
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
