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
 * A Conversions API forward-queue row (migration 0019) built at ingest for one (event, destination):
 * everything about the end customer is in `encrypted_payload`. Written by the same statement as the
 * events, and only for events that statement newly inserted (not duplicates, not suppressed), so the
 * 200 still means committed and a retried batch queues nothing twice.
 */
export type ForwardQueueRow = {
  id: string;
  project_id: string;
  destination_id: string;
  event_id: string;
  subject_hash: string;
  event_time: Date;
  encrypted_payload: string;
};

const BASE_PARAMS = Math.max(...[...WRITE_BATCH.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));

/**
 * ingest_batch as a CTE, then the queue rows of the events it reports inserted, then a wake-up of
 * the destinations' forwarder jobs that got rows (the `woken` column: an uncorrelated subquery,
 * evaluated once): one statement, one commit. (The tenant setting the RLS checks of these inserts
 * read is set by ingest_batch, which has returned all its rows before the join produces one.) The
 * hour's `queued` count is added when a row leaves the queue (forward-stats.ts), so concurrent
 * commits never queue on one counter row.
 */
const p = (n: number) => `$${BASE_PARAMS + n}`;
const WRITE_BATCH_FORWARDING = `WITH ib AS (${WRITE_BATCH}),
q AS (
  INSERT INTO capi_forward_queue (id, org_id, project_id, destination_id, event_id, subject_hash, event_time,
    encrypted_payload, next_attempt_at, created_at)
  SELECT u.id, $1, u.project_id, u.destination_id, u.event_id, u.subject_hash, u.event_time, u.payload, $2::timestamptz, $2::timestamptz
  FROM unnest(${p(1)}::uuid[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::timestamptz[],
    ${p(7)}::text[]) AS u(id, project_id, destination_id, event_id, subject_hash, event_time, payload)
  JOIN ib ON ib.project_id = u.project_id AND ib.event_id = u.event_id AND NOT ib.suppressed
  RETURNING destination_id
)
SELECT project_id, event_id, suppressed,
  (SELECT count(*) FROM unnest(${p(8)}::text[]) AS d(id)
     CROSS JOIN LATERAL layers_enqueue_capi_forward($1, ARRAY[d.id])
   WHERE EXISTS (SELECT 1 FROM q WHERE q.destination_id = d.id)) AS woken
FROM ib`;

const forwardValues = (rows: readonly ForwardQueueRow[], wake: readonly string[]) => [
  col([...rows], (r) => r.id),
  col([...rows], (r) => r.project_id),
  col([...rows], (r) => r.destination_id),
  col([...rows], (r) => r.event_id),
  col([...rows], (r) => r.subject_hash),
  col([...rows], (r) => r.event_time.toISOString()),
  col([...rows], (r) => r.encrypted_payload),
  [...wake],
];

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
      /** Forward-queue rows of these events (projects with an enabled destination only). */
      forward: readonly ForwardQueueRow[] = [],
      /** Destinations whose forwarder job to wake (the writer spares a destination it woke just now). */
      wake: readonly string[] = [],
    ): Promise<WrittenKey[]> {
      const forwarding = forward.length > 0;
      const links = linksOf(rows);
      const { rows: inserted } = await pool.query<WrittenKey>({
        name: forwarding ? 'ingest_batch_forwarding' : 'ingest_batch',
        text: forwarding ? WRITE_BATCH_FORWARDING : WRITE_BATCH,
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
          ...(forwarding ? forwardValues(forward, wake) : []),
        ],
      });
      return inserted;
    },
  };
}

export type IngestDal = ReturnType<typeof createIngestDal>;
