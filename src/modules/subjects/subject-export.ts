import type pg from 'pg';
import { TENANT_SETTING } from '../../db/tenancy-sql.ts';
import { isId } from '../../lib/ids.ts';

/**
 * Access / portability: every event held for a user, read page by page (keyset on event time, then
 * id) inside one read-only REPEATABLE READ transaction, so the export is a consistent snapshot.
 *
 * Each page comes back from PostgreSQL already rendered as JSON text, one object per event joined by
 * the caller's separator: the process handles one string per page instead of thousands of row
 * objects, so memory stays flat however many events the user has.
 *
 * Event shape: { object, id, event_id, type, event, timestamp, received_at, app_id, properties, traits,
 * hashed_identifiers: { email_sha256, phone_sha256 }, geo: { country, region } | null }.
 */
const PAGE = 500;

const EVENT_JSON = `json_build_object(
    'object', 'event', 'id', id, 'event_id', event_id, 'type', type, 'event', event,
    'timestamp', to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'received_at', to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'app_id', app_id, 'properties', properties, 'traits', traits,
    'hashed_identifiers', json_build_object('email_sha256', email_sha256, 'phone_sha256', phone_sha256),
    'geo', CASE WHEN geo_country IS NULL THEN NULL ELSE json_build_object('country', geo_country, 'region', geo_region) END
  )::text`;

type Page = { chunk: string | null; n: number; last_ts: string | null; last_id: string | null };

export type UserEventCursor = {
  /** The first page's events as JSON text joined by the separator ('' when the user has none). */
  first: string;
  firstCount: number;
  /** The following pages, each a non-empty JSON text chunk. */
  rest(): AsyncGenerator<string>;
  close(): Promise<void>;
};

export async function openUserEventCursor(
  pool: pg.Pool,
  ids: { orgId: string; projectId: string; userId: string },
  separator: string,
): Promise<UserEventCursor> {
  if (!isId('org', ids.orgId)) throw new Error('not an org id');
  const client = await pool.connect();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.query('COMMIT').catch(() => undefined);
    client.release();
  };
  const page = async (after: { ts: string; id: string } | undefined): Promise<Page> => {
    const { rows } = await client.query<Page>(
      `SELECT string_agg(${EVENT_JSON}, $6 ORDER BY timestamp, id) AS chunk, count(*)::int AS n,
              (array_agg(timestamp::text ORDER BY timestamp DESC, id DESC))[1] AS last_ts,
              (array_agg(id ORDER BY timestamp DESC, id DESC))[1] AS last_id
       FROM (SELECT * FROM sdk_events WHERE org_id = $1 AND project_id = $2 AND user_id = $3
               AND ($4::timestamptz IS NULL OR (timestamp, id) > ($4::timestamptz, $5::text))
             ORDER BY timestamp, id LIMIT ${PAGE}) page`,
      [ids.orgId, ids.projectId, ids.userId, after?.ts ?? null, after?.id ?? null, separator],
    );
    return rows[0] as Page;
  };
  try {
    await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT set_config('${TENANT_SETTING}', '${ids.orgId}', true)`,
    );
    const firstPage = await page(undefined);
    return {
      first: firstPage.chunk ?? '',
      firstCount: firstPage.n,
      async *rest() {
        try {
          let current = firstPage;
          // The text cursor keeps microseconds: a Date would drop them and repeat rows across pages.
          while (current.n === PAGE && current.last_ts && current.last_id) {
            current = await page({ ts: current.last_ts, id: current.last_id });
            if (current.chunk) yield current.chunk;
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
