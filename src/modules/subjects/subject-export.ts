import type pg from 'pg';
import { TENANT_SETTING } from '../../db/tenancy-sql.ts';
import { isId } from '../../lib/ids.ts';

/**
 * Access / portability: every event held for a user, read page by page (keyset on time, then id)
 * inside one read-only REPEATABLE READ transaction, so the export is a consistent snapshot and the
 * process holds one page at a time however many events the user has.
 */
export type ExportedEvent = {
  object: 'event';
  id: string;
  event_id: string;
  type: string;
  event: string | null;
  timestamp: string;
  received_at: string;
  app_id: string | null;
  properties: unknown;
  traits: unknown;
  hashed_identifiers: { email_sha256: string | null; phone_sha256: string | null };
  geo: { country: string; region: string | null } | null;
};

type EventRow = {
  /** The exact stored time as text: a Date would drop microseconds and repeat rows across pages. */
  cursor_ts: string;
  id: string;
  event_id: string;
  type: string;
  event: string | null;
  timestamp: Date;
  received_at: Date;
  app_id: string | null;
  properties: unknown;
  traits: unknown;
  email_sha256: string | null;
  phone_sha256: string | null;
  geo_country: string | null;
  geo_region: string | null;
};

const PAGE = 1_000;

function toExported(r: EventRow): ExportedEvent {
  return {
    object: 'event',
    id: r.id,
    event_id: r.event_id,
    type: r.type,
    event: r.event,
    timestamp: r.timestamp.toISOString(),
    received_at: r.received_at.toISOString(),
    app_id: r.app_id,
    properties: r.properties,
    traits: r.traits,
    hashed_identifiers: { email_sha256: r.email_sha256, phone_sha256: r.phone_sha256 },
    geo: r.geo_country ? { country: r.geo_country, region: r.geo_region } : null,
  };
}

export type UserEventCursor = {
  /** The first page, read up front so that "nothing held" can still answer 404. */
  first: ExportedEvent[];
  /** The following pages, one array per page. */
  rest(): AsyncGenerator<ExportedEvent[]>;
  close(): Promise<void>;
};

export async function openUserEventCursor(
  pool: pg.Pool,
  orgId: string,
  projectId: string,
  userId: string,
): Promise<UserEventCursor> {
  if (!isId('org', orgId)) throw new Error('not an org id');
  const client = await pool.connect();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.query('COMMIT').catch(() => undefined);
    client.release();
  };
  const page = async (after: { ts: string; id: string } | undefined): Promise<EventRow[]> => {
    const { rows } = await client.query<EventRow>(
      `SELECT timestamp::text AS cursor_ts, id, event_id, type, event, timestamp, received_at, app_id, properties, traits, email_sha256, phone_sha256,
              geo_country, geo_region
       FROM sdk_events WHERE org_id = $1 AND project_id = $2 AND user_id = $3
         AND ($4::timestamptz IS NULL OR (timestamp, id) > ($4::timestamptz, $5::text))
       ORDER BY timestamp, id LIMIT ${PAGE}`,
      [orgId, projectId, userId, after?.ts ?? null, after?.id ?? null],
    );
    return rows;
  };
  try {
    await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT set_config('${TENANT_SETTING}', '${orgId}', true)`,
    );
    const firstRows = await page(undefined);
    return {
      first: firstRows.map(toExported),
      async *rest() {
        try {
          let last = firstRows.at(-1);
          let full = firstRows.length === PAGE;
          while (full && last) {
            const rows = await page({ ts: last.cursor_ts, id: last.id });
            if (rows.length > 0) yield rows.map(toExported);
            full = rows.length === PAGE;
            last = rows.at(-1);
          }
        } finally {
          await close();
        }
      },
      close,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
    closed = true;
    throw error;
  }
}
