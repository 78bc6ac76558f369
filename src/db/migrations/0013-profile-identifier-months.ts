import { type Kysely, sql } from 'kysely';

/**
 * A profile's hashed identifiers are kept "same as the event [they ride] on": each hash goes when the
 * last event that carried it is purged, not with the profile.
 *
 * Until now `user_profiles.email_sha256`/`phone_sha256` lived as long as the profile, which any later
 * identify (or any event with another identifier) kept alive: a hash whose events had expired long ago
 * was still shown on the profile and still matched by `POST …/users/lookup`.
 *
 * - `email_sha256_months` / `phone_sha256_months` run parallel to the hash arrays: for each hash, the
 *   month of receipt of the latest event that carried it (the month that event is stored and purged
 *   under). The retention sweeper removes a hash once that month is past the org's event retention,
 *   with the same cutoff that deletes the events (or drops their partition), so a hash and its last
 *   event go in the same sweep.
 * - `merge_dated_hashes` replaces `merge_hashes` in `ingest_batch`: the union of the batch's hashes and
 *   the stored ones, each with the later of its months, the batch's first, at most `keep` of them.
 * - A retry received in a later month than its first copy is a duplicate, stored once in the earlier
 *   month: what only retries carry no longer folds into the profile again (it would date the profile
 *   and its hashes by the later month, keeping them a month past their events).
 * - Existing profiles are dated from the events still stored; a hash that no stored event carries any
 *   more (it had already outlived its events) is removed now.
 *
 * `ingest_batch` is restated whole, as in migration 0010 (suppression checks) but for its profile
 * upsert: the months of a new profile, the two identifier assignments, and the retry filter (whose
 * probe is the insert's dedup probe, run first only for batches with events that fold into a
 * profile). Its signature and result are unchanged, so CREATE OR REPLACE keeps the grants. Events
 * that fold into no profile (a track without identifiers) cost nothing more.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE user_profiles
      ADD COLUMN email_sha256_months date[] NOT NULL DEFAULT '{}',
      ADD COLUMN phone_sha256_months date[] NOT NULL DEFAULT '{}'`.execute(db);

  await dateStoredIdentifiers(db);
  await sql`
    ALTER TABLE user_profiles
      ADD CONSTRAINT user_profiles_email_months_check CHECK (cardinality(email_sha256_months) = cardinality(email_sha256)),
      ADD CONSTRAINT user_profiles_phone_months_check CHECK (cardinality(phone_sha256_months) = cardinality(phone_sha256))`.execute(
    db,
  );

  // The batch's hashes (its latest first), then the stored ones in their order, each once and with the
  // later of its months, at most `keep`. Loops over arrays of at most a few dozen: cheaper than a query.
  await sql`
    CREATE FUNCTION merge_dated_hashes(existing text[], existing_months date[], incoming text[], month date, keep int,
      OUT hashes text[], OUT months date[])
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE
      i int;
      j int;
    BEGIN
      hashes := '{}';
      months := '{}';
      FOR i IN REVERSE cardinality(incoming)..1 LOOP
        EXIT WHEN cardinality(hashes) >= keep;
        CONTINUE WHEN incoming[i] = ANY(hashes);
        j := array_position(existing, incoming[i]);
        hashes := hashes || incoming[i];
        months := months || CASE WHEN j IS NULL THEN month ELSE GREATEST(month, existing_months[j]) END;
      END LOOP;
      FOR i IN 1..cardinality(existing) LOOP
        EXIT WHEN cardinality(hashes) >= keep;
        CONTINUE WHEN existing[i] = ANY(hashes);
        hashes := hashes || existing[i];
        months := months || existing_months[i];
      END LOOP;
    END
    $$`.execute(db);

  await sql`
    CREATE OR REPLACE FUNCTION ingest_batch(
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
      -- Positions of the events that fold into a profile but are stored in an earlier month (retries),
      -- and what only they carry: 'project:user' and 'kind:hash:project:user' keys.
      v_retried_events bigint[];
      v_retried text[];
    BEGIN
      PERFORM set_config('app.org_id', p_org, true);
      -- Shared with every other ingest of the org; exclusive for suppression_fence (see migration 0010).
      PERFORM pg_advisory_xact_lock_shared(hashtext('layers:suppression_fence'), hashtext(p_org));
      v_suppressing := EXISTS (SELECT 1 FROM suppressions s WHERE s.org_id = p_org);

      IF cardinality(p_project) > 0 THEN
        -- A retry stored in an earlier month (the dedup probe of the insert below) was folded when its
        -- first copy was accepted: what only such retries carry must not date the profile or its
        -- identifiers by this month. Probed only for the events that fold into a profile; live events
        -- prune every earlier month, so this costs nothing unless an event is dated near a month start.
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
          -- Each arm runs only when its condition holds: a profile update without identifiers merges nothing.
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
  // merge_hashes (0002) has no caller left.
  await sql`DROP FUNCTION merge_hashes(text[], text[], int)`.execute(db);
}

/**
 * Dates every stored profile hash from the events still stored (index sdk_events_user_idx), dropping
 * the hashes that none of them carries any more. Order: newest month first. Exported for its test.
 */
export async function dateStoredIdentifiers(db: Kysely<unknown>): Promise<void> {
  for (const kind of ['email', 'phone'] as const) {
    const hashes = sql.ref(`${kind}_sha256`);
    const months = sql.ref(`${kind}_sha256_months`);
    const eventHash = sql.ref(`e.${kind}_sha256`);
    await sql`
      UPDATE user_profiles p SET (${hashes}, ${months}) = (
        SELECT COALESCE(array_agg(d.h ORDER BY d.m DESC, d.i), '{}'), COALESCE(array_agg(d.m ORDER BY d.m DESC, d.i), '{}')
        FROM (
          SELECT u.h, u.i, (SELECT max(e.received_month) FROM sdk_events e
                            WHERE e.project_id = p.project_id AND e.user_id = p.user_id AND ${eventHash} = u.h) AS m
          FROM unnest(p.${hashes}) WITH ORDINALITY AS u(h, i)) d
        WHERE d.m IS NOT NULL)
      WHERE cardinality(p.${hashes}) > 0`.execute(db);
  }
}
