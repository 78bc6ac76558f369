import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { PreparedEvent } from './event-preparer.ts';

/** A prepared event bound for one project, with its storage id. */
export type EventRow = PreparedEvent & { id: string; project_id: string };

export type ProfileUpdate = {
  project_id: string;
  user_id: string;
  properties: Record<string, unknown>;
  properties_at: Date | null;
  email_sha256: string[];
  phone_sha256: string[];
};

/** At most this many hashes of each kind are kept per profile (the newest win). */
const MAX_HASHES_PER_PROFILE = 20;

const col = <T, R>(rows: T[], pick: (r: T) => R) => rows.map(pick);

/** A column NULL in every row goes as one NULL (unnest pads it with NULLs), not as an array of them. */
const sparseCol = <T, R>(rows: T[], pick: (r: T) => R | null): (R | null)[] | null => {
  const values = rows.map(pick);
  return values.some((v) => v !== null) ? values : null;
};

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
     * (`ingest_batch`, see migration 0002), committed when it returns. Returns the (project_id,
     * event_id) pairs actually inserted; the others were already held.
     */
    async writeBatch(
      db: Kysely<Database>,
      orgId: string,
      receivedAt: Date,
      receivedMonth: Date,
      rows: EventRow[],
      profiles: ProfileUpdate[],
    ): Promise<{ project_id: string; event_id: string }[]> {
      const { rows: inserted } = await sql<{ project_id: string; event_id: string }>`
        SELECT * FROM ingest_batch(${orgId}, ${receivedAt}, ${receivedMonth.toISOString().slice(0, 10)}::date,
          ${col(rows, (r) => r.id)}::text[], ${col(rows, (r) => r.project_id)}::text[], ${col(rows, (r) => r.event_id)}::text[],
          ${col(rows, (r) => r.type)}::text[], ${col(rows, (r) => r.event)}::text[], ${col(rows, (r) => r.user_id)}::text[],
          ${col(rows, (r) => iso(r.timestamp))}::timestamptz[], ${col(rows, (r) => r.app_id)}::text[],
          ${col(rows, (r) => JSON.stringify(r.properties))}::jsonb[], ${col(rows, (r) => JSON.stringify(r.traits))}::jsonb[],
          ${sparseCol(rows, (r) => r.email_sha256)}::text[], ${sparseCol(rows, (r) => r.phone_sha256)}::text[],
          ${col(rows, (r) => r.geo_country)}::text[], ${col(rows, (r) => r.geo_region)}::text[],
          ${col(profiles, (p) => p.project_id)}::text[], ${col(profiles, (p) => p.user_id)}::text[],
          ${col(profiles, (p) => JSON.stringify(p.properties))}::jsonb[], ${col(profiles, (p) => iso(p.properties_at))}::timestamptz[],
          ${col(profiles, (p) => JSON.stringify(p.email_sha256))}::jsonb[], ${col(profiles, (p) => JSON.stringify(p.phone_sha256))}::jsonb[],
          ${MAX_HASHES_PER_PROFILE})`.execute(db);
      return inserted;
    },
  };
}

export type IngestDal = ReturnType<typeof createIngestDal>;
