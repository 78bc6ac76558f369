import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * Publications (registry class generated_media: project content, kept for the project's lifetime
 * plus the deletion grace period, like the media they publish): one row per request to post a
 * generated media to a connected social account, and the state machine that does it
 * (modules/publishing).
 *
 * `checkpoint` holds the platform's ids and progress only (never a token, a URL or a body).
 * `error_*` say why it failed (our code, our message, the platform's own code). `lease_*` makes one
 * worker process the publication's only runner; a killed worker's lease runs out and the recovery
 * job resumes from the checkpoint, not before `next_step_at`. `attempts` counts transient failures in
 * a row, `rate_limited_since` when the platform's rate limits in a row began (both bounded in the
 * runner).
 *
 * `publishing_budget`: a per-account, per-minute count of publishing steps, shared by every worker
 * process (TikTok allows 6 post inits and 30 status queries a minute per user token): a fixed
 * one-minute window per (account, kind), counted when a step starts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE publications (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      social_account_id text NOT NULL,
      platform text NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'facebook', 'youtube')),
      media_id text NOT NULL,
      caption text NOT NULL CHECK (length(caption) <= 5000),
      privacy text CHECK (length(privacy) <= 40),
      status text NOT NULL CHECK (status IN ('queued', 'uploading', 'processing', 'published', 'failed')),
      checkpoint jsonb NOT NULL DEFAULT '{}',
      platform_post_id text CHECK (length(platform_post_id) <= 200),
      permalink text CHECK (length(permalink) <= 2000),
      error_code text,
      error_message text CHECK (length(error_message) <= 500),
      error_platform_code text CHECK (length(error_platform_code) <= 60),
      steps integer NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0,
      rate_limited_since timestamptz,
      lease_id text,
      lease_until timestamptz,
      next_step_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      published_at timestamptz,
      completed_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX publications_org_account_idx ON publications (org_id, social_account_id, id)`.execute(
    db,
  );
  await sql`CREATE INDEX publications_project_id_idx ON publications (project_id)`.execute(db);
  await sql`CREATE INDEX publications_active_idx ON publications (lease_until) WHERE status IN ('queued', 'uploading', 'processing')`.execute(
    db,
  );
  await enableTenantRls(db, 'publications', ['SELECT', 'INSERT', 'UPDATE']);
  await sql`
    CREATE TABLE publishing_budget (
      org_id text NOT NULL REFERENCES orgs(id),
      social_account_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('init', 'step')),
      window_start timestamptz NOT NULL,
      calls integer NOT NULL,
      PRIMARY KEY (social_account_id, kind)
    )`.execute(db);
  await sql`CREATE INDEX publishing_budget_org_idx ON publishing_budget (org_id)`.execute(db);
  await enableTenantRls(db, 'publishing_budget', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
}
