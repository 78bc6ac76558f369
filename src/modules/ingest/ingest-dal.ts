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
  geo_country: string | null;
  geo_region: string | null;
  geo_at: Date | null;
  first_seen_at: Date;
  last_seen_at: Date;
};

/** At most this many hashes of each kind are kept per profile (the newest win). */
const MAX_HASHES_PER_PROFILE = 20;

const col = <T, R>(rows: T[], pick: (r: T) => R) => rows.map(pick);

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
     * Inserts the events not already held, in one statement: duplicates within this month collide on
     * the primary key (ON CONFLICT DO NOTHING); earlier months are probed explicitly. Returns the
     * (project_id, event_id) pairs actually inserted.
     */
    async insertEvents(
      tx: Kysely<Database>,
      orgId: string,
      receivedAt: Date,
      receivedMonth: Date,
      rows: EventRow[],
    ): Promise<{ project_id: string; event_id: string }[]> {
      const { rows: inserted } = await sql<{ project_id: string; event_id: string }>`
        INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
          received_month, app_id, properties, traits, email_sha256, phone_sha256, geo_country, geo_region)
        SELECT u.id, ${orgId}, u.project_id, u.event_id, u.type, u.event, u.user_id, u.ts, ${receivedAt},
          ${receivedMonth}::date, u.app_id, u.properties, u.traits, u.email_sha256, u.phone_sha256, u.geo_country, u.geo_region
        FROM unnest(
          ${col(rows, (r) => r.id)}::text[], ${col(rows, (r) => r.project_id)}::text[], ${col(rows, (r) => r.event_id)}::text[],
          ${col(rows, (r) => r.type)}::text[], ${col(rows, (r) => r.event)}::text[], ${col(rows, (r) => r.user_id)}::text[],
          ${col(rows, (r) => r.timestamp)}::timestamptz[], ${col(rows, (r) => r.app_id)}::text[],
          ${col(rows, (r) => JSON.stringify(r.properties))}::jsonb[], ${col(rows, (r) => JSON.stringify(r.traits))}::jsonb[],
          ${col(rows, (r) => r.email_sha256)}::text[], ${col(rows, (r) => r.phone_sha256)}::text[],
          ${col(rows, (r) => r.geo_country)}::text[], ${col(rows, (r) => r.geo_region)}::text[]
        ) AS u(id, project_id, event_id, type, event, user_id, ts, app_id, properties, traits, email_sha256, phone_sha256, geo_country, geo_region)
        WHERE NOT EXISTS (
          SELECT 1 FROM sdk_events e
          WHERE e.project_id = u.project_id AND e.event_id = u.event_id AND e.received_month < ${receivedMonth}::date)
        ON CONFLICT (project_id, event_id, received_month) DO NOTHING
        RETURNING project_id, event_id`.execute(tx);
      return inserted;
    },

    /**
     * Folds a batch's effect into the current-state profiles. Later identify traits win over earlier
     * ones (by event time); geo comes from the latest event that had one; hashes accumulate.
     */
    async upsertProfiles(tx: Kysely<Database>, orgId: string, updates: ProfileUpdate[]): Promise<void> {
      if (updates.length === 0) return;
      await sql`
        INSERT INTO user_profiles AS p (org_id, project_id, user_id, properties, properties_at, email_sha256, phone_sha256,
          geo_country, geo_region, geo_at, first_seen_at, last_seen_at)
        SELECT ${orgId}, u.project_id, u.user_id, u.properties, u.properties_at,
          COALESCE((SELECT array_agg(h) FROM jsonb_array_elements_text(u.emails) h), '{}'),
          COALESCE((SELECT array_agg(h) FROM jsonb_array_elements_text(u.phones) h), '{}'),
          u.geo_country, u.geo_region, u.geo_at, u.first_seen_at, u.last_seen_at
        FROM unnest(
          ${col(updates, (u) => u.project_id)}::text[], ${col(updates, (u) => u.user_id)}::text[],
          ${col(updates, (u) => JSON.stringify(u.properties))}::jsonb[], ${col(updates, (u) => u.properties_at)}::timestamptz[],
          ${col(updates, (u) => JSON.stringify(u.email_sha256))}::jsonb[], ${col(updates, (u) => JSON.stringify(u.phone_sha256))}::jsonb[],
          ${col(updates, (u) => u.geo_country)}::text[], ${col(updates, (u) => u.geo_region)}::text[],
          ${col(updates, (u) => u.geo_at)}::timestamptz[],
          ${col(updates, (u) => u.first_seen_at)}::timestamptz[], ${col(updates, (u) => u.last_seen_at)}::timestamptz[]
        ) AS u(project_id, user_id, properties, properties_at, emails, phones, geo_country, geo_region, geo_at, first_seen_at, last_seen_at)
        ON CONFLICT (project_id, user_id) DO UPDATE SET
          properties = CASE
            WHEN excluded.properties_at IS NULL THEN p.properties
            WHEN p.properties_at IS NULL OR excluded.properties_at >= p.properties_at THEN p.properties || excluded.properties
            ELSE excluded.properties || p.properties END,
          properties_at = GREATEST(p.properties_at, excluded.properties_at),
          email_sha256 = (SELECT COALESCE(array_agg(h ORDER BY i DESC), '{}') FROM (
            SELECT h, max(i) AS i FROM unnest(p.email_sha256 || excluded.email_sha256) WITH ORDINALITY AS t(h, i) GROUP BY h
            ORDER BY max(i) DESC LIMIT ${MAX_HASHES_PER_PROFILE}) x),
          phone_sha256 = (SELECT COALESCE(array_agg(h ORDER BY i DESC), '{}') FROM (
            SELECT h, max(i) AS i FROM unnest(p.phone_sha256 || excluded.phone_sha256) WITH ORDINALITY AS t(h, i) GROUP BY h
            ORDER BY max(i) DESC LIMIT ${MAX_HASHES_PER_PROFILE}) x),
          geo_country = CASE WHEN excluded.geo_at IS NOT NULL AND (p.geo_at IS NULL OR excluded.geo_at >= p.geo_at)
            THEN excluded.geo_country ELSE p.geo_country END,
          geo_region = CASE WHEN excluded.geo_at IS NOT NULL AND (p.geo_at IS NULL OR excluded.geo_at >= p.geo_at)
            THEN excluded.geo_region ELSE p.geo_region END,
          geo_at = GREATEST(p.geo_at, excluded.geo_at),
          first_seen_at = LEAST(p.first_seen_at, excluded.first_seen_at),
          last_seen_at = GREATEST(p.last_seen_at, excluded.last_seen_at)`.execute(tx);
    },
  };
}

export type IngestDal = ReturnType<typeof createIngestDal>;
