import { type Kysely, sql } from 'kysely';
import { APP_ROLE, enableTenantRls } from '../tenancy-sql.ts';

/**
 * Anonymous users: an event carries `user_id` or `anonymous_id` (or both), and an identify with both
 * links the anonymous id to the user.
 *
 * - `sdk_events.anonymous_id` (nullable); `user_id` becomes nullable, one of the two is required.
 *   Events with a user id belong to it whatever anonymous id they also carry; events with only an
 *   anonymous id belong to the user it is linked to, if any. A partial index finds the latter
 *   (`user_id IS NULL`), so identified traffic pays nothing for it.
 * - `anonymous_ids`: (project, anonymous id) → user id, set by the first identify that carried both;
 *   a later identify naming another user for the same anonymous id does not move it (one device id
 *   belongs to one user: the SDK resets its anonymous id on logout). `updated_at` is the receipt of
 *   the latest identify that confirmed the link: the link is purged with that month (data class
 *   `anonymous_ids`, following `sdk_events`), erased with the user.
 * - `ingest_batch` gains the events' anonymous ids and the links to record, written in the same
 *   statement as the events (links of suppressed users are not recorded). Its result is unchanged.
 * - Suppression covers anonymous events too: an erasure with suppression also records, for each
 *   anonymous id linked to the user, SHA-256 of `anon:<project>:<anonymous id>` (it cannot equal a
 *   user's `<project>:<user id>`: project ids start with `proj_`), and an event with only an
 *   anonymous id is refused when that hash is held.
 */
const OLD_SIGNATURE = `ingest_batch(
  text, timestamptz, date,
  text[], text[], text[], text[], text[], text[], timestamptz[],
  text[], jsonb[], jsonb[], text[], text[], text[], text[],
  text[], text[], jsonb[], timestamptz[], jsonb[], jsonb[],
  int, interval)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sdk_events ADD COLUMN anonymous_id text`.execute(db);
  await sql`ALTER TABLE sdk_events ALTER COLUMN user_id DROP NOT NULL`.execute(db);
  await sql`ALTER TABLE sdk_events ADD CONSTRAINT sdk_events_subject_check
    CHECK (user_id IS NOT NULL OR anonymous_id IS NOT NULL)`.execute(db);
  await sql`CREATE INDEX sdk_events_anonymous_idx ON sdk_events (project_id, anonymous_id, timestamp)
    WHERE user_id IS NULL`.execute(db);

  await sql`
    CREATE TABLE anonymous_ids (
      org_id text NOT NULL,
      project_id text NOT NULL REFERENCES projects(id),
      anonymous_id text NOT NULL,
      user_id text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (project_id, anonymous_id)
    )`.execute(db);
  await sql`CREATE INDEX anonymous_ids_org_id_idx ON anonymous_ids (org_id, project_id)`.execute(db);
  await sql`CREATE INDEX anonymous_ids_user_idx ON anonymous_ids (project_id, user_id)`.execute(db);
  await enableTenantRls(db, 'anonymous_ids', ['SELECT', 'INSERT', 'UPDATE']);

  await sql.raw(`DROP FUNCTION ${OLD_SIGNATURE}`).execute(db);
  // Restated whole, as in migration 0013 but for the anonymous ids of the events and the links.
  await sql`
    CREATE FUNCTION ingest_batch(
      p_org text, p_received_at timestamptz, p_month date,
      e_id text[], e_project text[], e_event_id text[], e_type text[], e_event text[], e_user text[], e_ts timestamptz[],
      e_app text[], e_properties jsonb[], e_traits jsonb[], e_email text[], e_phone text[], e_country text[], e_region text[],
      p_project text[], p_user text[], p_properties jsonb[], p_properties_at timestamptz[], p_emails jsonb[], p_phones jsonb[],
      p_keep_hashes int, p_dedup_lookback interval,
      e_anonymous text[], l_project text[], l_anonymous text[], l_user text[])
    RETURNS TABLE (project_id text, event_id text, suppressed boolean)
    LANGUAGE plpgsql SECURITY INVOKER
    SET search_path = public, pg_temp
    SET plan_cache_mode = force_generic_plan AS $fn$
    DECLARE
      v_suppressing boolean;
      v_retried_events bigint[];
      v_retried text[];
    BEGIN
      PERFORM set_config('app.org_id', p_org, true);
      -- Shared with every other ingest of the org; exclusive for suppression_fence (see migration 0010).
      PERFORM pg_advisory_xact_lock_shared(hashtext('layers:suppression_fence'), hashtext(p_org));
      v_suppressing := EXISTS (SELECT 1 FROM suppressions s WHERE s.org_id = p_org);

      IF cardinality(p_project) > 0 THEN
        -- Retries stored in an earlier month fold nothing into the profile (migration 0013).
        SELECT array_agg(u.n) INTO v_retried_events
        FROM unnest(e_project, e_event_id, e_type, e_ts, e_email, e_phone) WITH ORDINALITY
          AS u(project_id, event_id, type, ts, email, phone, n)
        WHERE (u.type = 'identify' OR u.email IS NOT NULL OR u.phone IS NOT NULL) AND EXISTS (
          SELECT 1 FROM sdk_events e
          WHERE e.project_id = u.project_id AND e.event_id = u.event_id AND e.received_month < p_month
            AND e.received_month >= date_trunc('month', (u.ts - p_dedup_lookback) AT TIME ZONE 'UTC')::date);
        IF v_retried_events IS NOT NULL THEN
          SELECT array_agg(k.key) INTO v_retried FROM (
            SELECT f.key
            FROM unnest(e_project, e_type, e_user, e_email, e_phone) WITH ORDINALITY AS u(project_id, type, user_id, email, phone, n)
            CROSS JOIN LATERAL (VALUES (u.project_id || ':' || u.user_id),
              ('email:' || u.email || ':' || u.project_id || ':' || u.user_id),
              ('phone:' || u.phone || ':' || u.project_id || ':' || u.user_id)) f(key)
            WHERE (u.type = 'identify' OR u.email IS NOT NULL OR u.phone IS NOT NULL) AND f.key IS NOT NULL
            GROUP BY f.key HAVING bool_and(u.n = ANY(v_retried_events))) k;
        END IF;

        INSERT INTO user_profiles AS p (org_id, project_id, user_id, properties, properties_at, email_sha256, phone_sha256,
          email_sha256_months, phone_sha256_months, created_at, updated_at)
        SELECT p_org, u.project_id, u.user_id, u.properties, u.properties_at, i.emails, i.phones,
          array_fill(p_month, ARRAY[cardinality(i.emails)]), array_fill(p_month, ARRAY[cardinality(i.phones)]),
          p_received_at, p_received_at
        FROM unnest(p_project, p_user, p_properties, p_properties_at, p_emails, p_phones)
          AS u(project_id, user_id, properties, properties_at, emails, phones)
        CROSS JOIN LATERAL (SELECT
          ARRAY(SELECT h FROM jsonb_array_elements_text(u.emails) h
                WHERE v_retried IS NULL OR NOT ('email:' || h || ':' || u.project_id || ':' || u.user_id) = ANY(v_retried)) AS emails,
          ARRAY(SELECT h FROM jsonb_array_elements_text(u.phones) h
                WHERE v_retried IS NULL OR NOT ('phone:' || h || ':' || u.project_id || ':' || u.user_id) = ANY(v_retried)) AS phones) i
        WHERE (NOT v_suppressing OR NOT EXISTS (
          SELECT 1 FROM suppressions s WHERE s.project_id = u.project_id
            AND s.subject_sha256 = encode(sha256(convert_to(u.project_id || ':' || u.user_id, 'UTF8')), 'hex')))
          AND (v_retried IS NULL OR NOT (u.project_id || ':' || u.user_id) = ANY(v_retried))
        ON CONFLICT ON CONSTRAINT user_profiles_pkey DO UPDATE SET
          properties = CASE
            WHEN excluded.properties_at IS NULL THEN p.properties
            WHEN p.properties_at IS NULL OR excluded.properties_at >= p.properties_at THEN p.properties || excluded.properties
            ELSE excluded.properties || p.properties END,
          properties_at = GREATEST(p.properties_at, excluded.properties_at),
          (email_sha256, email_sha256_months) = (
            SELECT p.email_sha256, p.email_sha256_months WHERE cardinality(excluded.email_sha256) = 0
            UNION ALL
            SELECT m.hashes, m.months
            FROM merge_dated_hashes(p.email_sha256, p.email_sha256_months, excluded.email_sha256, p_month, p_keep_hashes) m
            WHERE cardinality(excluded.email_sha256) > 0),
          (phone_sha256, phone_sha256_months) = (
            SELECT p.phone_sha256, p.phone_sha256_months WHERE cardinality(excluded.phone_sha256) = 0
            UNION ALL
            SELECT m.hashes, m.months
            FROM merge_dated_hashes(p.phone_sha256, p.phone_sha256_months, excluded.phone_sha256, p_month, p_keep_hashes) m
            WHERE cardinality(excluded.phone_sha256) > 0),
          updated_at = excluded.updated_at;
      END IF;

      -- Links (identify with both ids): the first user named keeps the anonymous id; a repeat dates it.
      IF cardinality(l_project) > 0 THEN
        INSERT INTO anonymous_ids AS a (org_id, project_id, anonymous_id, user_id, created_at, updated_at)
        SELECT DISTINCT ON (u.project_id, u.anonymous_id) p_org, u.project_id, u.anonymous_id, u.user_id,
          p_received_at, p_received_at
        FROM unnest(l_project, l_anonymous, l_user) WITH ORDINALITY AS u(project_id, anonymous_id, user_id, n)
        WHERE NOT v_suppressing OR NOT EXISTS (
          SELECT 1 FROM suppressions s WHERE s.project_id = u.project_id
            AND s.subject_sha256 = encode(sha256(convert_to(u.project_id || ':' || u.user_id, 'UTF8')), 'hex'))
        ORDER BY u.project_id, u.anonymous_id, u.n
        ON CONFLICT ON CONSTRAINT anonymous_ids_pkey DO UPDATE SET updated_at = excluded.updated_at
          WHERE a.user_id = excluded.user_id AND a.updated_at < excluded.updated_at;
      END IF;

      RETURN QUERY
      INSERT INTO sdk_events AS ev (id, org_id, project_id, event_id, type, event, user_id, anonymous_id, timestamp,
        received_at, received_month, app_id, properties, traits, email_sha256, phone_sha256, geo_country, geo_region)
      SELECT u.id, p_org, u.project_id, u.event_id, u.type, u.event, u.user_id, u.anonymous_id, u.ts, p_received_at,
        p_month, u.app_id, u.properties, u.traits, u.email, u.phone, u.country, u.region
      FROM unnest(e_id, e_project, e_event_id, e_type, e_event, e_user, e_ts, e_app, e_properties, e_traits, e_email, e_phone,
        e_country, e_region, e_anonymous)
        AS u(id, project_id, event_id, type, event, user_id, ts, app_id, properties, traits, email, phone, country, region,
          anonymous_id)
      WHERE NOT EXISTS (
        SELECT 1 FROM sdk_events e
        WHERE e.project_id = u.project_id AND e.event_id = u.event_id AND e.received_month < p_month
          -- Months are UTC months (received_month is computed in UTC), whatever the session's TimeZone.
          AND e.received_month >= date_trunc('month', (u.ts - p_dedup_lookback) AT TIME ZONE 'UTC')::date)
        AND (NOT v_suppressing OR NOT EXISTS (
          SELECT 1 FROM suppressions s WHERE s.project_id = u.project_id AND s.subject_sha256 = CASE
            WHEN u.user_id IS NOT NULL THEN encode(sha256(convert_to(u.project_id || ':' || u.user_id, 'UTF8')), 'hex')
            ELSE encode(sha256(convert_to('anon:' || u.project_id || ':' || u.anonymous_id, 'UTF8')), 'hex') END))
      ON CONFLICT ON CONSTRAINT sdk_events_pkey DO NOTHING
      RETURNING ev.project_id, ev.event_id, false;

      IF v_suppressing THEN
        RETURN QUERY
        SELECT u.project_id, u.event_id, true
        FROM unnest(e_project, e_event_id, e_user, e_anonymous) AS u(project_id, event_id, user_id, anonymous_id)
        WHERE EXISTS (
          SELECT 1 FROM suppressions s WHERE s.project_id = u.project_id AND s.subject_sha256 = CASE
            WHEN u.user_id IS NOT NULL THEN encode(sha256(convert_to(u.project_id || ':' || u.user_id, 'UTF8')), 'hex')
            ELSE encode(sha256(convert_to('anon:' || u.project_id || ':' || u.anonymous_id, 'UTF8')), 'hex') END);
      END IF;
    END
    $fn$`.execute(db);
  await sql`REVOKE ALL ON FUNCTION ingest_batch FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION ingest_batch TO ${sql.id(APP_ROLE)}`.execute(db);
}
