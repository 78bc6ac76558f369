import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, UserProfilesTable } from '../../db/schema.ts';

export type ProfileRow = Selectable<UserProfilesTable>;

/** Facts every event carries, read from the event log rather than written per event. */
export type SeenFacts = {
  first_seen_at: Date;
  last_seen_at: Date;
  geo_country: string | null;
  geo_region: string | null;
};

export function createProfilesDal() {
  return {
    async find(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      userId: string,
    ): Promise<ProfileRow | undefined> {
      return tx
        .selectFrom('user_profiles')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('project_id', '=', projectId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
    },

    /** First/last event time and the geo of the latest event that had one (index on project, user, time). */
    async seen(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      userId: string,
    ): Promise<SeenFacts | undefined> {
      const { rows } = await sql<SeenFacts>`
        SELECT span.first_seen_at, span.last_seen_at, geo.geo_country, geo.geo_region
        FROM (SELECT min(timestamp) AS first_seen_at, max(timestamp) AS last_seen_at FROM sdk_events
              WHERE org_id = ${orgId} AND project_id = ${projectId} AND user_id = ${userId}) span
        LEFT JOIN LATERAL (
          SELECT geo_country, geo_region FROM sdk_events
          WHERE org_id = ${orgId} AND project_id = ${projectId} AND user_id = ${userId} AND geo_country IS NOT NULL
          ORDER BY timestamp DESC LIMIT 1) geo ON true
        WHERE span.first_seen_at IS NOT NULL`.execute(tx);
      return rows[0];
    },
  };
}

export type ProfilesDal = ReturnType<typeof createProfilesDal>;
