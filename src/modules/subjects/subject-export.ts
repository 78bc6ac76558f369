import type pg from 'pg';
import { type CopyOutStream, copyOut } from '../../db/copy-out-stream.ts';
import { TENANT_SETTING } from '../../db/tenancy-sql.ts';

/**
 * Access / portability: every event held for a user, oldest first, inside one read-only REPEATABLE
 * READ transaction, so the export is a consistent snapshot.
 *
 * PostgreSQL renders each event as JSON and sends the rows through COPY as raw bytes; they go to
 * the response without ever becoming JavaScript strings or objects, with the database socket paused
 * while the client reads slowly. Memory stays flat however many events the user has.
 *
 * Event shape: { object, id, event_id, type, event, timestamp, received_at, anonymous_id, app_id, properties, traits,
 * hashed_identifiers: { email_sha256, phone_sha256 }, geo: { country, region } | null }.
 */
const EVENT_JSON = `json_build_object(
    'object', 'event', 'id', id, 'event_id', event_id, 'type', type, 'event', event,
    'timestamp', to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'received_at', to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'anonymous_id', anonymous_id, 'app_id', app_id, 'properties', properties, 'traits', traits,
    'hashed_identifiers', json_build_object('email_sha256', email_sha256, 'phone_sha256', phone_sha256),
    'geo', CASE WHEN geo_country IS NULL THEN NULL ELSE json_build_object('country', geo_country, 'region', geo_region) END
  )::text`;

/** COPY takes no bind parameters: the user travels in transaction-local settings, never in the SQL text. */
const PROJECT_SETTING = 'layers.export_project_id';
const USER_SETTING = 'layers.export_user_id';
const ORG = `current_setting('${TENANT_SETTING}')`;
const PROJECT = `current_setting('${PROJECT_SETTING}')`;
const USER = `current_setting('${USER_SETTING}')`;
/** The user's own events: what almost every export reads (index on project, user, time; no sort). */
const OWN_EVENTS = `FROM sdk_events WHERE org_id = ${ORG} AND project_id = ${PROJECT} AND user_id = ${USER}`;
/** The user's events, and the anonymous events of every anonymous id linked to the user (migration 0015). */
const LINKED_EVENTS = `FROM (
    SELECT * FROM sdk_events WHERE org_id = ${ORG} AND project_id = ${PROJECT} AND user_id = ${USER}
    UNION ALL
    SELECT e.* FROM anonymous_ids a JOIN sdk_events e
      ON e.org_id = a.org_id AND e.project_id = a.project_id AND e.anonymous_id = a.anonymous_id AND e.user_id IS NULL
    WHERE a.org_id = ${ORG} AND a.project_id = ${PROJECT} AND a.user_id = ${USER}) ev`;

export type UserEventExport = {
  hasEvents: boolean;
  /** The events as JSON texts, each framed by `between` (before all but the first) and `after`. Once only. */
  events(frame: { between: string; after: string }): CopyOutStream;
  /** Ends the snapshot; an export still running is cut off and its connection discarded. */
  close(): Promise<void>;
};

export async function openUserEventExport(
  pool: pg.Pool,
  ids: { orgId: string; projectId: string; userId: string },
  opts: { statementTimeoutMs?: number } = {},
): Promise<UserEventExport> {
  const client = await pool.connect();
  let copy: CopyOutStream | undefined;
  let closed = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const settings = [TENANT_SETTING, ids.orgId, PROJECT_SETTING, ids.projectId, USER_SETTING, ids.userId];
    // A statement timeout backs up the export's own time limit (export-body.ts) inside the database.
    const timeout =
      opts.statementTimeoutMs === undefined ? '' : ", set_config('statement_timeout', $7, true)";
    if (timeout) settings.push(String(opts.statementTimeoutMs));
    await client.query(
      `SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true)${timeout}`,
      settings,
    );
    // Read in the export's snapshot: only a user with linked anonymous ids pays for the union.
    const { rows: linked } = await client.query<{ linked: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM anonymous_ids WHERE org_id = ${ORG} AND project_id = ${PROJECT}
         AND user_id = ${USER}) AS linked`,
    );
    const USER_EVENTS = linked[0]?.linked ? LINKED_EVENTS : OWN_EVENTS;
    const { rows } = await client.query<{ has_events: boolean }>(
      `SELECT EXISTS (SELECT 1 ${USER_EVENTS}) AS has_events`,
    );
    return {
      hasEvents: rows[0]?.has_events ?? false,
      events(frame) {
        if (copy) throw new Error('the events of an export are read once');
        copy = copyOut(client, `SELECT ${EVENT_JSON} ${USER_EVENTS} ORDER BY timestamp, id`, frame);
        return copy;
      },
      async close() {
        if (closed) return;
        closed = true;
        if (copy && !copy.completed) {
          // The backend is still sending rows into a paused socket: releasing with an error makes the
          // pool end this client, and pg resets the socket of a client whose query is still running.
          client.release(new Error('export cut off'));
          return;
        }
        await client.query('COMMIT').catch(() => undefined);
        client.release();
      },
    };
  } catch (error) {
    closed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
    throw error;
  }
}
