import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../../db/schema.ts';
import { INGEST_LIMITS } from './event-limits.ts';
import type { PreparedEvent } from './event-preparer.ts';

/** A prepared event bound for one project, with its storage id (no anonymous id: none sent). */
export type EventRow = Omit<PreparedEvent, 'anonymous_id'> & {
  id: string;
  project_id: string;
  anonymous_id?: string | null;
};

export type ProfileUpdate = {
  project_id: string;
  user_id: string;
  properties: Record<string, unknown>;
  properties_at: Date | null;
  email_sha256: string[];
  phone_sha256: string[];
};

/** An event `ingest_batch` inserted, or refused because its user is suppressed. */
export type WrittenKey = { project_id: string; event_id: string; suppressed: boolean };

/** At most this many hashes of each kind are kept per profile (the newest win). */
const MAX_HASHES_PER_PROFILE = 20;

const col = <T, R>(rows: T[], pick: (r: T) => R) => rows.map(pick);

/** A column NULL in every row goes as one NULL (unnest pads it with NULLs), not as an array of them. */
const sparseCol = <T, R>(rows: T[], pick: (r: T) => R | null): (R | null)[] | null => {
  const values = rows.map(pick);
  return values.some((v) => v !== null) ? values : null;
};

const WRITE_BATCH = `SELECT * FROM ingest_batch($1, $2::timestamptz, $3::date,
  $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
  $11::text[], $12::jsonb[], $13::jsonb[], $14::text[], $15::text[], $16::text[], $17::text[],
  $18::text[], $19::text[], $20::jsonb[], $21::timestamptz[], $22::jsonb[], $23::jsonb[], $24::int, $25::interval,
  $26::text[], $27::text[], $28::text[], $29::text[])`;

/**
 * The anonymous ids an identify links to its user (migration 0015), in event-time order so that the
 * first identify of the batch names the user when one anonymous id comes with two.
 */
function linksOf(rows: EventRow[]): { project: string[]; anonymous: string[]; user: string[] } {
  const links = rows.filter((r) => r.type === 'identify' && r.user_id !== null && r.anonymous_id);
  if (links.length > 1) links.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
  return {
    project: col(links, (r) => r.project_id),
    anonymous: col(links, (r) => r.anonymous_id as string),
    user: col(links, (r) => r.user_id as string),
  };
}

/**
 * How far before an event's timestamp its earlier copies are looked for (migration 0007): a copy was
 * accepted no earlier than the timestamp minus the future limit; twice that, for processes whose clocks
 * disagree.
 */
const DEDUP_LOOKBACK = `${2 * INGEST_LIMITS.futureSkewMs} milliseconds`;

// ISO strings rather than Dates: pg's own Date formatting costs several times more per row.
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/**
 * One event's forwarding to one destination, built at ingest while the raw values were in memory
 * (modules/destinations/forward-builder.ts): `event` is the platform-ready payload, in memory only
 * until it is sealed into its batch row.
 */
export type ForwardItem = {
  project_id: string;
  destination_id: string;
  /** The stored event's id (the commit queues only the events it newly inserted). */
  event_id: string;
  /** SHA-256 of `project_id:user id` (or of the anonymous id): what a DSR erasure looks for. */
  subject: string;
  event: unknown;
};

/**
 * A Conversions API forward-queue row (migration 0025): one commit's events for one destination,
 * sealed in `encrypted_payload` (modules/destinations/forward-batch.ts).
 */
export type ForwardBatchRow = {
  id: string;
  project_id: string;
  destination_id: string;
  event_count: number;
  subject_hashes: string[];
  oldest_event_time: Date;
  encrypted_payload: string;
  /** The row's events' ids (in `project_id`), not stored in the row: what the commit must store. */
  event_ids: string[];
};

/**
 * A commit's forwarding, as the statement writes it: `rows` sealed before the statement for every
 * forwarded event, each queued only if the commit stores all of its events (the common case);
 * `stored`, the rows of only the events the commit stored (newly inserted, not suppressed), sealed
 * again inside the transaction when some row was stored only in part; `wake`, the destinations whose
 * forwarder job to wake.
 */
export type ForwardPlan = {
  rows: ForwardBatchRow[];
  stored: (written: readonly WrittenKey[]) => ForwardBatchRow[];
  wake: string[];
};

/**
 * The queue rows and the wake-up of the destinations' forwarder jobs (the `woken` column), in the
 * statement of the ingest_batch call that stores their events: one commit, so the 200 still means
 * committed. (The tenant setting the RLS checks read is set by ingest_batch for the transaction;
 * the insert runs after it, as it reads `cover`, which reads ingest_batch's result.) A row is queued only if ingest_batch
 * stored every event of it; a row stored only in part fails the statement (0029,
 * `layers_forward_rows_whole`: SQLSTATE LF001) and the commit is written the longer way.
 * The hour's `queued` count is added when a row leaves the queue (forward-stats.ts), so concurrent
 * commits never queue on one counter row.
 */
const QUEUE_COLUMNS = `INSERT INTO capi_forward_queue (id, org_id, project_id, destination_id, event_count, subject_hashes,
    oldest_event_time, encrypted_payload, next_attempt_at, created_at)
  SELECT u.id, $1, u.project_id, u.destination_id, u.n, string_to_array(u.subjects, ','), u.oldest, u.payload,
    $2::timestamptz, $2::timestamptz`;
/** Wakes the destinations listed in parameter `param` if `q` queued a row; counts them. */
const wakeOf = (param: number) =>
  `(SELECT count(*) FROM unnest($${param}::text[]) AS d(id) CROSS JOIN LATERAL layers_enqueue_capi_forward($1, ARRAY[d.id])
    WHERE EXISTS (SELECT 1 FROM q))`;

const WRITE_BATCH_FORWARDING = `WITH w AS MATERIALIZED (${WRITE_BATCH}),
cover AS MATERIALIZED (
  SELECT e.r, bool_and(w.event_id IS NOT NULL) AS whole, bool_or(w.event_id IS NOT NULL) AS part
  FROM unnest($30::int[], $31::text[], $32::text[]) AS e(r, project_id, event_id)
  LEFT JOIN w ON w.project_id = e.project_id AND w.event_id = e.event_id AND NOT w.suppressed
  GROUP BY e.r),
q AS (
  ${QUEUE_COLUMNS}
  FROM unnest($33::uuid[], $34::text[], $35::text[], $36::int[], $37::text[], $38::timestamptz[], $39::text[])
    WITH ORDINALITY AS u(id, project_id, destination_id, n, subjects, oldest, payload, r)
  JOIN cover ON cover.r = u.r
  WHERE cover.whole
  RETURNING 1
)
SELECT w.project_id, w.event_id, w.suppressed FROM w
-- Evaluated once, before any row of w is returned: the check (cover runs ingest_batch), then the wake.
WHERE (SELECT layers_forward_rows_whole(count(*) FILTER (WHERE part AND NOT whole)) FROM cover) = 0
  AND ${wakeOf(40)} >= 0`;

/** The longer way (a row stored in part): the stored events' rows, sealed inside the transaction. */
const INSERT_FORWARD_ROWS = `WITH q AS (
  ${QUEUE_COLUMNS}
  FROM unnest($3::uuid[], $4::text[], $5::text[], $6::int[], $7::text[], $8::timestamptz[], $9::text[])
    AS u(id, project_id, destination_id, n, subjects, oldest, payload)
  RETURNING 1
)
SELECT (SELECT count(*) FROM q) AS queued, ${wakeOf(10)} AS woken`;

/** SQLSTATE of `layers_forward_rows_whole`: a row of the commit was stored only in part. */
const PARTLY_STORED = 'LF001';

const queueColumns = (rows: readonly ForwardBatchRow[]) => [
  rows.map((r) => r.id),
  rows.map((r) => r.project_id),
  rows.map((r) => r.destination_id),
  rows.map((r) => r.event_count),
  // Hex hashes: no comma in them.
  rows.map((r) => r.subject_hashes.join(',')),
  rows.map((r) => r.oldest_event_time.toISOString()),
  rows.map((r) => r.encrypted_payload),
];

/** Parameters $30–$40 of WRITE_BATCH_FORWARDING: each row's events (by row ordinal), the rows, the wake. */
function coverValues(plan: ForwardPlan) {
  const r: number[] = [];
  const project: string[] = [];
  const event: string[] = [];
  plan.rows.forEach((row, i) => {
    for (const id of row.event_ids) {
      r.push(i + 1);
      project.push(row.project_id);
      event.push(id);
    }
  });
  return [r, project, event, ...queueColumns(plan.rows), plan.wake];
}

export function createIngestDal() {
  return {
    async projectPolicies(tx: Kysely<Database>, orgId: string, projectIds: string[]) {
      return tx
        .selectFrom('projects')
        .select(['id', 'status', 'pii_policy'])
        .where('org_id', '=', orgId)
        .where('id', 'in', projectIds)
        .execute();
    },

    /**
     * Writes one group commit's events and profile updates for one org with a single statement
     * (`ingest_batch`, see migrations 0002, 0007 and 0010), committed when it returns. Returns the
     * (project_id, event_id) pairs actually inserted, and with `suppressed: true` those refused because
     * their user is suppressed (checked in the same statement, so in every process at once); the others
     * were already held.
     *
     * A named statement: each connection parses and plans the call once, not once per commit.
     */
    async writeBatch(
      pool: pg.Pool,
      orgId: string,
      receivedAt: Date,
      receivedMonth: Date,
      rows: EventRow[],
      profiles: ProfileUpdate[],
      /** For events of projects with an enabled destination: their queue rows, in the same commit. */
      forward?: ForwardPlan,
    ): Promise<WrittenKey[]> {
      const links = linksOf(rows);
      const query = {
        name: 'ingest_batch',
        text: WRITE_BATCH,
        values: [
          orgId,
          receivedAt.toISOString(),
          receivedMonth.toISOString().slice(0, 10),
          col(rows, (r) => r.id),
          col(rows, (r) => r.project_id),
          col(rows, (r) => r.event_id),
          col(rows, (r) => r.type),
          col(rows, (r) => r.event),
          col(rows, (r) => r.user_id),
          col(rows, (r) => iso(r.timestamp)),
          col(rows, (r) => r.app_id),
          col(rows, (r) => JSON.stringify(r.properties)),
          col(rows, (r) => JSON.stringify(r.traits)),
          sparseCol(rows, (r) => r.email_sha256),
          sparseCol(rows, (r) => r.phone_sha256),
          col(rows, (r) => r.geo_country),
          col(rows, (r) => r.geo_region),
          col(profiles, (p) => p.project_id),
          col(profiles, (p) => p.user_id),
          col(profiles, (p) => JSON.stringify(p.properties)),
          col(profiles, (p) => iso(p.properties_at)),
          col(profiles, (p) => JSON.stringify(p.email_sha256)),
          col(profiles, (p) => JSON.stringify(p.phone_sha256)),
          MAX_HASHES_PER_PROFILE,
          DEDUP_LOOKBACK,
          sparseCol(rows, (r) => r.anonymous_id ?? null),
          links.project,
          links.anonymous,
          links.user,
        ],
      };
      // Without forwarding, and with it in the common case: one statement, its own transaction.
      if (!forward) return (await pool.query<WrittenKey>(query)).rows;
      try {
        const { rows: written } = await pool.query<WrittenKey>({
          name: 'ingest_batch_forwarding',
          text: WRITE_BATCH_FORWARDING,
          values: [...query.values, ...coverValues(forward)],
        });
        return written;
      } catch (error) {
        if ((error as { code?: unknown }).code !== PARTLY_STORED) throw error;
      }
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const { rows: inserted } = await client.query<WrittenKey>(query);
        const queue = forward.stored(inserted);
        if (queue.length > 0)
          await client.query({
            name: 'capi_forward_insert',
            text: INSERT_FORWARD_ROWS,
            values: [orgId, receivedAt.toISOString(), ...queueColumns(queue), forward.wake],
          });
        await client.query('COMMIT');
        return inserted;
      } catch (error) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e;
        });
        throw error;
      } finally {
        // A connection that cannot even roll back is not given back to the pool.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
  };
}

export type IngestDal = ReturnType<typeof createIngestDal>;
