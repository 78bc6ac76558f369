import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Metrics } from '../../http/metrics.ts';

/**
 * The request log: request id, org, key, method, route pattern, status, latency; nothing else.
 * Rows are buffered in memory and written in one multi-row insert per second (or per 1,000 rows),
 * off the request path. If the database is unreachable the buffer is kept and retried; past
 * MAX_BUFFERED rows the oldest are dropped and counted in a metric (operational metadata, not data
 * a partner sent us). Shutdown flushes what is left.
 */
export type RequestLogRow = {
  id: string;
  org_id: string;
  api_key_id: string | null;
  method: string;
  route: string;
  status: number;
  latency_ms: number;
  created_at: Date;
};

const FLUSH_INTERVAL_MS = 1_000;
const FLUSH_AT_ROWS = 1_000;
const MAX_BUFFERED = 100_000;

export function createRequestLogWriter(deps: { db: Kysely<Database>; metrics: Metrics }) {
  let buffer: RequestLogRow[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  async function write(rows: RequestLogRow[]): Promise<void> {
    await sql`
      INSERT INTO request_log (id, org_id, api_key_id, method, route, status, latency_ms, created_at)
      SELECT * FROM unnest(
        ${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.org_id)}::text[], ${rows.map((r) => r.api_key_id)}::text[],
        ${rows.map((r) => r.method)}::text[], ${rows.map((r) => r.route)}::text[], ${rows.map((r) => r.status)}::smallint[],
        ${rows.map((r) => r.latency_ms)}::real[], ${rows.map((r) => r.created_at)}::timestamptz[])
      ON CONFLICT (id) DO NOTHING`.execute(deps.db);
  }

  async function flushOnce(): Promise<void> {
    if (buffer.length === 0) return;
    const rows = buffer;
    buffer = [];
    try {
      for (let i = 0; i < rows.length; i += FLUSH_AT_ROWS * 5)
        await write(rows.slice(i, i + FLUSH_AT_ROWS * 5));
      deps.metrics.requestLogWritten.inc(rows.length);
    } catch (error) {
      buffer = rows.concat(buffer);
      const excess = buffer.length - MAX_BUFFERED;
      if (excess > 0) {
        buffer.splice(0, excess);
        deps.metrics.requestLogDropped.inc(excess);
      }
      throw error;
    }
  }

  function flush(): Promise<void> {
    flushing ??= flushOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  return {
    add(row: RequestLogRow) {
      buffer.push(row);
      if (buffer.length >= FLUSH_AT_ROWS) void flush().catch(() => undefined);
    },
    flush,
    start() {
      timer = setInterval(() => void flush().catch(() => undefined), FLUSH_INTERVAL_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await flushing?.catch(() => undefined);
      await flush();
    },
  };
}

export type RequestLogWriter = ReturnType<typeof createRequestLogWriter>;
