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
    ): Promise<WrittenKey[]> {
      const links = linksOf(rows);
      const { rows: inserted } = await pool.query<WrittenKey>({
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
      });
      return inserted;
    },
  };
}

export type IngestDal = ReturnType<typeof createIngestDal>;
