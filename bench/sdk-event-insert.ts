import type pg from 'pg';

/**
 * The ingest bench's direct writes into sdk_events (B_copy, B_durable): every column the pipeline
 * stores, many events to a statement, as data, with no validation, privacy pipeline or dedup.
 */
export type BenchEvent = {
  event_id: string;
  type: string;
  event: string;
  user_id: string;
  timestamp: string;
  app_id: string;
  properties: unknown;
};

export type BenchRow = { id: string; event: BenchEvent; country: string | null; region: string | null };

const INSERT_EVENTS = `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
    received_month, app_id, properties, traits, geo_country, geo_region)
  SELECT u.id, $1, $2, u.event_id, u.type, u.event, u.user_id, u.ts, now(), date_trunc('month', now())::date,
    u.app_id, u.properties, u.traits, u.country, u.region
  FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::jsonb[],
    $11::jsonb[], $12::text[], $13::text[])
    AS u(id, event_id, type, event, user_id, ts, app_id, properties, traits, country, region)`;

/** `statementName` makes it a prepared statement (parsed and planned once per connection). */
export function insertEvents(
  pool: pg.Pool,
  ids: { orgId: string; projectId: string },
  rows: BenchRow[],
  statementName?: string,
): Promise<pg.QueryResult> {
  return pool.query({
    ...(statementName ? { name: statementName } : {}),
    text: INSERT_EVENTS,
    values: [
      ids.orgId,
      ids.projectId,
      rows.map((r) => r.id),
      rows.map((r) => r.event.event_id),
      rows.map((r) => r.event.type),
      rows.map((r) => r.event.event),
      rows.map((r) => r.event.user_id),
      rows.map((r) => r.event.timestamp),
      rows.map((r) => r.event.app_id),
      rows.map((r) => JSON.stringify(r.event.properties)),
      rows.map(() => '{}'),
      rows.map((r) => r.country),
      rows.map((r) => r.region),
    ],
  });
}
