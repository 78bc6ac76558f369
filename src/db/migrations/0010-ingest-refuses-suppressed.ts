import { type Kysely, sql } from 'kysely';
import { APP_ROLE } from '../tenancy-sql.ts';

/**
 * Suppression is enforced by the ingest commit itself, so that it holds in every process at once.
 *
 * Until now only a per-process cache (refreshed every 5 s) refused a suppressed user's events, and an
 * erasure recorded its suppression only when it completed: events sent while it ran, or to another
 * process within 5 s of its end, were stored and kept.
 *
 * - `ingest_batch` refuses (does not insert, and does not fold into a profile) the events of users
 *   that `suppressions` holds, inside the statement that inserts the others. The check costs one index
 *   probe per batch (does the org hold any suppression?) and, only for orgs that do, one primary-key
 *   probe per event. Refused events come back with `suppressed = true`, so the caller can say so.
 * - `suppression_fence(org)` orders the recording of a suppression against concurrent ingest of the
 *   same org: `ingest_batch` holds a shared advisory lock keyed by the org for its transaction, the
 *   fence takes it exclusively. The erasure records its suppression under the fence, before it deletes
 *   anything: a commit that started before waits to finish and its events are then erased; one that
 *   starts after sees the suppression (each statement of the function takes its snapshot after the lock).
 */
const OLD_SIGNATURE = `ingest_batch(
  text, timestamptz, date,
  text[], text[], text[], text[], text[], text[], timestamptz[],
  text[], jsonb[], jsonb[], text[], text[], text[], text[],
  text[], text[], jsonb[], timestamptz[], jsonb[], jsonb[],
  int, interval)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION suppression_fence(p_org text) RETURNS void
    LANGUAGE sql SECURITY INVOKER SET search_path = public, pg_temp AS $$
      SELECT pg_advisory_xact_lock(hashtext('layers:suppression_fence'), hashtext(p_org))
    $$`.execute(db);
  await sql`REVOKE ALL ON FUNCTION suppression_fence(text) FROM PUBLIC`.execute(db);

  // The result gains a column, which CREATE OR REPLACE cannot do: the function is restated whole, as in
  // 0007 but for the lock and the suppression checks.
  await sql.raw(`DROP FUNCTION ${OLD_SIGNATURE}`).execute(db);
  await sql`
    CREATE FUNCTION ingest_batch(
      p_org text, p_received_at timestamptz, p_month date,
      e_id text[], e_project text[], e_event_id text[], e_type text[], e_event text[], e_user text[], e_ts timestamptz[],
      e_app text[], e_properties jsonb[], e_traits jsonb[], e_email text[], e_phone text[], e_country text[], e_region text[],
      p_project text[], p_user text[], p_properties jsonb[], p_properties_at timestamptz[], p_emails jsonb[], p_phones jsonb[],
      p_keep_hashes int, p_dedup_lookback interval)
    RETURNS TABLE (project_id text, event_id text, suppressed boolean)
    LANGUAGE plpgsql SECURITY INVOKER
    SET search_path = public, pg_temp
    SET plan_cache_mode = force_generic_plan AS $fn$
    DECLARE
      v_suppressing boolean;
    BEGIN
      PERFORM set_config('app.org_id', p_org, true);
      -- Shared with every other ingest of the org; exclusive for suppression_fence (see migration 0010).
      PERFORM pg_advisory_xact_lock_shared(hashtext('layers:suppression_fence'), hashtext(p_org));
      v_suppressing := EXISTS (SELECT 1 FROM suppressions s WHERE s.org_id = p_org);

      IF cardinality(p_project) > 0 THEN
        INSERT INTO user_profiles AS p (org_id, project_id, user_id, properties, properties_at, email_sha256, phone_sha256,
          created_at, updated_at)
        SELECT p_org, u.project_id, u.user_id, u.properties, u.properties_at,
          ARRAY(SELECT jsonb_array_elements_text(u.emails)), ARRAY(SELECT jsonb_array_elements_text(u.phones)),
          p_received_at, p_received_at
        FROM unnest(p_project, p_user, p_properties, p_properties_at, p_emails, p_phones)
          AS u(project_id, user_id, properties, properties_at, emails, phones)
        WHERE NOT v_suppressing OR NOT EXISTS (
          SELECT 1 FROM suppressions s WHERE s.project_id = u.project_id
            AND s.subject_sha256 = encode(sha256(convert_to(u.project_id || ':' || u.user_id, 'UTF8')), 'hex'))
        ON CONFLICT ON CONSTRAINT user_profiles_pkey DO UPDATE SET
          properties = CASE
            WHEN excluded.properties_at IS NULL THEN p.properties
            WHEN p.properties_at IS NULL OR excluded.properties_at >= p.properties_at THEN p.properties || excluded.properties
            ELSE excluded.properties || p.properties END,
          properties_at = GREATEST(p.properties_at, excluded.properties_at),
          email_sha256 = CASE WHEN cardinality(excluded.email_sha256) = 0 THEN p.email_sha256
            ELSE merge_hashes(p.email_sha256, excluded.email_sha256, p_keep_hashes) END,
          phone_sha256 = CASE WHEN cardinality(excluded.phone_sha256) = 0 THEN p.phone_sha256
            ELSE merge_hashes(p.phone_sha256, excluded.phone_sha256, p_keep_hashes) END,
          updated_at = excluded.updated_at;
      END IF;

      RETURN QUERY
      INSERT INTO sdk_events AS ev (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
        received_month, app_id, properties, traits, email_sha256, phone_sha256, geo_country, geo_region)
      SELECT u.id, p_org, u.project_id, u.event_id, u.type, u.event, u.user_id, u.ts, p_received_at,
        p_month, u.app_id, u.properties, u.traits, u.email, u.phone, u.country, u.region
      FROM unnest(e_id, e_project, e_event_id, e_type, e_event, e_user, e_ts, e_app, e_properties, e_traits, e_email, e_phone,
        e_country, e_region)
        AS u(id, project_id, event_id, type, event, user_id, ts, app_id, properties, traits, email, phone, country, region)
      WHERE NOT EXISTS (
        SELECT 1 FROM sdk_events e
        WHERE e.project_id = u.project_id AND e.event_id = u.event_id AND e.received_month < p_month
          -- Months are UTC months (received_month is computed in UTC), whatever the session's TimeZone.
          AND e.received_month >= date_trunc('month', (u.ts - p_dedup_lookback) AT TIME ZONE 'UTC')::date)
        AND (NOT v_suppressing OR NOT EXISTS (
          SELECT 1 FROM suppressions s WHERE s.project_id = u.project_id
            AND s.subject_sha256 = encode(sha256(convert_to(u.project_id || ':' || u.user_id, 'UTF8')), 'hex')))
      ON CONFLICT ON CONSTRAINT sdk_events_pkey DO NOTHING
      RETURNING ev.project_id, ev.event_id, false;

      IF v_suppressing THEN
        RETURN QUERY
        SELECT u.project_id, u.event_id, true
        FROM unnest(e_project, e_event_id, e_user) AS u(project_id, event_id, user_id)
        WHERE EXISTS (
          SELECT 1 FROM suppressions s WHERE s.project_id = u.project_id
            AND s.subject_sha256 = encode(sha256(convert_to(u.project_id || ':' || u.user_id, 'UTF8')), 'hex'));
      END IF;
    END
    $fn$`.execute(db);
  await sql`REVOKE ALL ON FUNCTION ingest_batch FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION ingest_batch TO ${sql.id(APP_ROLE)}`.execute(db);
}
