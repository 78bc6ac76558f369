import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * Ad deployments (registry class ad_deployments): one row per request to deploy a generated video
 * as a paused ad on Meta or TikTok, and the state machine that does it (modules/ads).
 *
 * `checkpoint` holds the platform ids of what exists at the platform (video, campaign, ad set/group,
 * creative, ad) and progress flags only: never a token, a URL or a body. `error_*` say why it failed
 * (our code, our message, the platform's own code). `lease_*` is the single runner of a deployment
 * across worker processes: a killed worker's lease runs out and the recovery job resumes from the
 * checkpoint, not before `next_step_at` (a platform's rate-limit wait, a video still processing).
 * `attempts` counts transient failures in a row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ad_deployments (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      platform text NOT NULL CHECK (platform IN ('meta', 'tiktok')),
      social_account_id text NOT NULL,
      ad_account_id text NOT NULL CHECK (ad_account_id ~ '^[0-9]{1,30}$'),
      media_id text NOT NULL,
      headline text NOT NULL CHECK (length(headline) BETWEEN 1 AND 255),
      body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
      daily_budget_cents integer NOT NULL CHECK (daily_budget_cents > 0),
      countries text[] NOT NULL,
      status text NOT NULL CHECK (status IN ('queued', 'creating', 'created', 'failed', 'cancelling', 'cancelled')),
      checkpoint jsonb NOT NULL DEFAULT '{}',
      error_code text,
      error_message text CHECK (length(error_message) <= 500),
      error_platform_code text CHECK (length(error_platform_code) <= 60),
      attempts integer NOT NULL DEFAULT 0,
      lease_id text,
      lease_until timestamptz,
      next_step_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      completed_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX ad_deployments_org_project_idx ON ad_deployments (org_id, project_id, id)`.execute(
    db,
  );
  await sql`CREATE INDEX ad_deployments_project_id_idx ON ad_deployments (project_id)`.execute(db);
  await sql`CREATE INDEX ad_deployments_active_idx ON ad_deployments (lease_until) WHERE status IN ('queued', 'creating', 'cancelling')`.execute(
    db,
  );
  await enableTenantRls(db, 'ad_deployments', ['SELECT', 'INSERT', 'UPDATE']);
}
