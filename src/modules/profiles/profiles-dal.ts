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

    /**
     * First/last event time and the geo of the latest event that had one, over the user's events and
     * the anonymous events of every anonymous id linked to the user (indexes on project, user, time
     * and on project, anonymous id, time).
     */
    async seen(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      userId: string,
    ): Promise<SeenFacts | undefined> {
      const own = sql`FROM sdk_events WHERE org_id = ${orgId} AND project_id = ${projectId} AND user_id = ${userId}`;
      const linked = sql`FROM anonymous_ids a JOIN sdk_events e
        ON e.org_id = a.org_id AND e.project_id = a.project_id AND e.anonymous_id = a.anonymous_id AND e.user_id IS NULL
        WHERE a.org_id = ${orgId} AND a.project_id = ${projectId} AND a.user_id = ${userId}`;
      const { rows } = await sql<SeenFacts>`
        SELECT span.first_seen_at, span.last_seen_at, geo.geo_country, geo.geo_region
        FROM (SELECT min(f) AS first_seen_at, max(l) AS last_seen_at FROM (
                SELECT min(timestamp) AS f, max(timestamp) AS l ${own}
                UNION ALL
                SELECT min(e.timestamp), max(e.timestamp) ${linked}) s) span
        LEFT JOIN LATERAL (
          SELECT g.geo_country, g.geo_region FROM (
            (SELECT geo_country, geo_region, timestamp ${own} AND geo_country IS NOT NULL ORDER BY timestamp DESC LIMIT 1)
            UNION ALL
            (SELECT e.geo_country, e.geo_region, e.timestamp ${linked} AND e.geo_country IS NOT NULL
             ORDER BY e.timestamp DESC LIMIT 1)) g
          ORDER BY g.timestamp DESC LIMIT 1) geo ON true
        WHERE span.first_seen_at IS NOT NULL`.execute(tx);
      return rows[0];
    },

    /** The anonymous ids linked to a user (migration 0015), oldest link first. */
    async linkedAnonymousIds(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      userId: string,
    ): Promise<string[]> {
      const rows = await tx
        .selectFrom('anonymous_ids')
        .select('anonymous_id')
        .where('org_id', '=', orgId)
        .where('project_id', '=', projectId)
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('anonymous_id')
        .execute();
      return rows.map((r) => r.anonymous_id);
    },

    /**
     * Removes, from up to `batchSize` profiles at a time, the hashed identifiers whose latest carrying
     * event was received in a month before `before` (the month the event retention has passed): the
     * hash goes with the last event it rode on. One org, or every org without `orgId`. Profiles another
     * sweeper (or an ingest commit) holds are skipped and taken by the next sweep. Returns how many
     * profiles lost an identifier. System connection.
     */
    async removeIdentifiersBefore(
      db: Kysely<Database>,
      filter: { before: Date; orgId?: string },
      batchSize: number,
    ): Promise<number> {
      const month = monthLiteral(filter.before);
      const org = filter.orgId === undefined ? sql`TRUE` : sql`org_id = ${filter.orgId}`;
      const kept = (hashes: string, months: string) => sql`(
        SELECT COALESCE(array_agg(t.h ORDER BY t.i), '{}'), COALESCE(array_agg(t.m ORDER BY t.i), '{}')
        FROM unnest(${sql.ref(hashes)}, ${sql.ref(months)}) WITH ORDINALITY AS t(h, m, i) WHERE t.m >= ${month}::date)`;
      let total = 0;
      for (;;) {
        const result = await sql`
          UPDATE user_profiles SET
            (email_sha256, email_sha256_months) = ${kept('email_sha256', 'email_sha256_months')},
            (phone_sha256, phone_sha256_months) = ${kept('phone_sha256', 'phone_sha256_months')}
          WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM user_profiles
            WHERE ${org} AND (${month}::date > ANY(email_sha256_months) OR ${month}::date > ANY(phone_sha256_months))
            LIMIT ${batchSize} FOR UPDATE SKIP LOCKED))`.execute(db);
        const n = Number(result.numAffectedRows ?? 0);
        total += n;
        if (n < batchSize) return total;
      }
    },

    /** How many profiles hold an identifier `removeIdentifiersBefore` would remove (for `layers verify`). */
    async countIdentifiersBefore(db: Kysely<Database>, filter: { before: Date; orgId?: string }) {
      const month = monthLiteral(filter.before);
      const org = filter.orgId === undefined ? sql`TRUE` : sql`org_id = ${filter.orgId}`;
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM user_profiles
        WHERE ${org} AND (${month}::date > ANY(email_sha256_months) OR ${month}::date > ANY(phone_sha256_months))`.execute(
        db,
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}

/** The UTC calendar date of `d`, as the `date` the months arrays hold (independent of the session's TimeZone). */
const monthLiteral = (d: Date) => d.toISOString().slice(0, 10);

export type ProfilesDal = ReturnType<typeof createProfilesDal>;
