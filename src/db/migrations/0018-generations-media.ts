import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * Content generation and its media (registry class generated_media: project lifetime plus the
 * deletion grace period).
 *
 * `generations`: one row per requested generation: the partner-authored brief (its declared fields
 * only), what was asked for, the provider and model, the vendor retention mode in force, status and
 * error code, the generated copy, and the prompt's SHA-256 and byte count (never its text).
 *
 * `media_assets`: one row per stored object: kind, content type, size, SHA-256 and the
 * content-addressed key in the media store (`org/<org>/project/<project>/<sha256>.<ext>`). Deleting a
 * row goes with deleting its object (media service, project purge, partnership end).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE generations (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
      provider text NOT NULL CHECK (provider IN ('default', 'openai', 'anthropic', 'vertex')),
      model text NOT NULL,
      retention_mode text NOT NULL CHECK (retention_mode IN ('zero_retention', 'no_training', 'narrowest_prompt')),
      outputs text[] NOT NULL,
      brief jsonb NOT NULL,
      copy jsonb,
      error_code text,
      error_message text,
      prompt_sha256 text CHECK (prompt_sha256 ~ '^[0-9a-f]{64}$'),
      prompt_bytes integer CHECK (prompt_bytes >= 0),
      attempts integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      completed_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX generations_org_project_idx ON generations (org_id, project_id, id)`.execute(db);
  await sql`CREATE INDEX generations_project_id_idx ON generations (project_id)`.execute(db);
  await enableTenantRls(db, 'generations', ['SELECT', 'INSERT', 'UPDATE']);

  await sql`
    CREATE TABLE media_assets (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      generation_id text REFERENCES generations(id),
      kind text NOT NULL CHECK (kind IN ('image', 'video')),
      content_type text NOT NULL,
      width integer NOT NULL CHECK (width > 0),
      height integer NOT NULL CHECK (height > 0),
      duration_ms integer CHECK (duration_ms > 0),
      bytes bigint NOT NULL CHECK (bytes >= 0),
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      store text NOT NULL CHECK (store IN ('fs', 's3')),
      storage_key text NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX media_assets_org_project_idx ON media_assets (org_id, project_id, id)`.execute(db);
  await sql`CREATE INDEX media_assets_project_id_idx ON media_assets (project_id)`.execute(db);
  await sql`CREATE INDEX media_assets_generation_id_idx ON media_assets (generation_id)`.execute(db);
  await enableTenantRls(db, 'media_assets', ['SELECT', 'INSERT', 'DELETE']);
}
