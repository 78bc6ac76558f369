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
 * - `merge_dated_hashes` replaces `merge_hashes` in `ingest_batch`: the union of the stored hashes and
 *   the batch's, each with the newer of its months, newest month first, at most `keep` of them.
 * - Existing profiles are dated from the events still stored; a hash that no stored event carries any
 *   more (it had already outlived its events) is removed now.
 *
 * `ingest_batch` is restated whole, as in migration 0010 (suppression checks) but for the two
 * identifier assignments of the profile upsert and the months of a new profile: its signature and
 * result are unchanged, so CREATE OR REPLACE keeps the grants. Cost: the profile upsert of an event
 * with an identifier dates it; nothing changes for events without one.
 *
 * A retried event accepted again in a later month than its first copy is a duplicate (not stored
 * twice), but its identifiers are folded in with the later month: such a hash is then kept until that
 * later month's retention ends.
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

  // Union of stored and incoming hashes, each with its latest month; newest month first (then the
  // batch's latest hash, then the stored order), at most `keep`.
  await sql`
    CREATE FUNCTION merge_dated_hashes(existing text[], existing_months date[], incoming text[], month date, keep int,
      OUT hashes text[], OUT months date[])
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT COALESCE(array_agg(h ORDER BY m DESC, rank), '{}'), COALESCE(array_agg(m ORDER BY m DESC, rank), '{}')
      FROM (
        SELECT h, max(m) AS m, min(rank) AS rank FROM (
          SELECT i.h, month AS m, -i.pos AS rank FROM unnest(incoming) WITH ORDINALITY AS i(h, pos)
          UNION ALL
          SELECT e.h, e.m, e.pos FROM unnest(existing, existing_months) WITH ORDINALITY AS e(h, m, pos)) a
        GROUP BY h ORDER BY max(m) DESC, min(rank) LIMIT keep) kept
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
    BEGIN
      PERFORM set_config('app.org_id', p_org, true);
      -- Shared with every other ingest of the org; exclusive for suppression_fence (see migration 0010).
      PERFORM pg_advisory_xact_lock_shared(hashtext('layers:suppression_fence'), hashtext(p_org));
      v_suppressing := EXISTS (SELECT 1 FROM suppressions s WHERE s.org_id = p_org);

      IF cardinality(p_project) > 0 THEN
        INSERT INTO user_profiles AS p (org_id, project_id, user_id, properties, properties_at, email_sha256, phone_sha256,
          email_sha256_months, phone_sha256_months, created_at, updated_at)
        SELECT p_org, u.project_id, u.user_id, u.properties, u.properties_at,
          ARRAY(SELECT jsonb_array_elements_text(u.emails)), ARRAY(SELECT jsonb_array_elements_text(u.phones)),
          array_fill(p_month, ARRAY[jsonb_array_length(u.emails)]), array_fill(p_month, ARRAY[jsonb_array_length(u.phones)]),
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
 * the hashes that none of them carries any more. Order: newest month first, as merge_dated_hashes
 * keeps them. Exported for its test.
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
