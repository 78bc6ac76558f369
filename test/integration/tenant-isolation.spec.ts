import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE } from '../../src/db/tenancy-sql.ts';
import { totpCode } from '../../src/modules/console-auth/console-totp.ts';
import { consoleCall, member, STRONG_PASSWORD } from '../helpers/console-session.ts';
import { partitionsAmong, tenantTables } from '../helpers/database-inspection.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  bearer,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

describe('tenant isolation in the database', () => {
  let t: TestApp;
  let orgA: TestOrg;
  let orgB: TestOrg;
  beforeAll(async () => {
    t = await createTestApp();
    orgA = await createOrg(t.app, 'A');
    orgB = await createOrg(t.app, 'B');
    for (const org of [orgA, orgB]) {
      const project = await createProject(t.app, org);
      const publishable = await createKey(t.app, org, { type: 'publishable', project_id: project.id });
      // A Conversions API destination first, so the mapped event below is queued (queue and stats rows).
      await t.app.inject({
        method: 'POST',
        url: `/v1/projects/${project.id}/destinations`,
        headers: bearer(org.secret),
        payload: {
          type: 'meta_capi',
          pixel_id: '1234',
          access_token: 'token-0123456789',
          event_map: { purchase: 'Purchase' },
          enabled: true,
        },
      });
      await sendEvents(t.app, publishable.secret, [
        // With an anonymous id, so the identify links it (anonymous_ids holds a row of each org).
        identifyEvent('u_1', { plan: 'pro' }, { anonymous_id: `anon-${org.id}` }),
        trackEvent('u_1', 'opened'),
        trackEvent('u_1', 'purchase'),
      ]);
      await t.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: { ...bearer(org.secret), 'idempotency-key': `k-${org.id}` },
        payload: { url: 'https://example.com/h', events: ['*'] },
      });
      await t.app.inject({
        method: 'POST',
        url: '/v1/dpa-requests',
        headers: bearer(org.secret),
        payload: {
          signatory_entity: 'Entity Ltd',
          countries_of_processing: ['DE'],
          governing_law: 'Ireland',
        },
      });
      // Written by the operator API (partner tier) and at offboarding; planted so these tables are covered too.
      await t.db.systemPool.query(
        `INSERT INTO retention_overrides (org_id, data_class, retention_ms, updated_at) VALUES ($1, 'request_log', 864000000, now())`,
        [org.id],
      );
      await t.db.systemPool.query(
        `INSERT INTO org_purge_schedule (org_id, data_class, purge_at) VALUES ($1, 'sdk_events', now())`,
        [org.id],
      );
      // Counted by the forwarder (system connection) as queued events leave the queue.
      await t.db.systemPool.query(
        `INSERT INTO capi_forward_stats (org_id, project_id, destination_id, hour, sent)
         SELECT org_id, project_id, id, date_trunc('hour', now()), 1 FROM destinations WHERE org_id = $1`,
        [org.id],
      );
      // Appended by the egress gateway's ledger writer (system connection) for each vendor call.
      await t.db.systemPool.query(
        `INSERT INTO egress_ledger (id, org_id, vendor, host, purpose, data_classes, records, bytes_out, bytes_in,
           attempts, status, outcome, latency_ms, created_at)
         VALUES (gen_random_uuid(), $1, 'openai', 'api.openai.com', 'llm', '{project_content}', 1, 10, 10, 1, 200, 'ok', 1, now())`,
        [org.id],
      );
      // A generation and one of its media rows (content generation; no job runs here).
      const gen = await t.app.inject({
        method: 'POST',
        url: `/v1/projects/${project.id}/generations`,
        headers: bearer(org.secret),
        payload: { brief: { product: 'Isolation' }, outputs: ['copy'] },
      });
      await t.db.systemPool.query(
        `INSERT INTO media_assets (id, org_id, project_id, generation_id, kind, content_type, width, height, bytes,
           sha256, store, storage_key, created_at)
         VALUES ('med_' || substr(md5($1), 1, 26), $1, $2, $3, 'image', 'image/png', 1080, 1080, 1, repeat('a', 64), 'fs', 'k', now())`,
        [org.id, project.id, gen.json().id],
      );
      // A connected social account, a connect flow in progress and a synced post (social accounts).
      const sa = `sa_${'0'.repeat(10)}${org.id.slice(-16)}`;
      await t.db.systemPool.query(
        `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, status, connected_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'tiktok', 'open_isolation', 'active', now(), now(), now())`,
        [sa, org.id, project.id],
      );
      await t.db.systemPool.query(
        `INSERT INTO social_oauth_states (state_hash, org_id, project_id, platform, return_url, encrypted_code_verifier, expires_at, created_at)
         VALUES (encode(sha256(convert_to($1, 'UTF8')), 'hex'), $1, $2, 'tiktok', 'https://app.example.com/', 'lenc1:x', now(), now())`,
        [org.id, project.id],
      );
      await t.db.systemPool.query(
        `INSERT INTO post_metadata (org_id, project_id, social_account_id, platform, platform_post_id, collected_at)
         VALUES ($1, $2, $3, 'tiktok', 'v_isolation', now())`,
        [org.id, project.id, sa],
      );
      // A publication of that media to that account, its publishing budget, and an ad deployment
      // (publishing and ads; no job runs here).
      const media = `med_${'0'.repeat(10)}${org.id.slice(-16)}`;
      await t.db.systemPool.query(
        `INSERT INTO publications (id, org_id, project_id, social_account_id, platform, media_id, caption, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'tiktok', $5, 'isolation', 'queued', now(), now())`,
        [`pub_${'0'.repeat(10)}${org.id.slice(-16)}`, org.id, project.id, sa, media],
      );
      await t.db.systemPool.query(
        `INSERT INTO publishing_budget (org_id, social_account_id, kind, window_start, calls) VALUES ($1, $2, 'init', now(), 1)`,
        [org.id, sa],
      );
      await t.db.systemPool.query(
        `INSERT INTO ad_deployments (id, org_id, project_id, platform, social_account_id, ad_account_id, media_id, headline,
           body, daily_budget_cents, countries, status, created_at, updated_at)
         VALUES ($1, $2, $3, 'meta', $4, '1234567890', $5, 'Isolation', 'Isolation body', 500, '{US}', 'queued', now(), now())`,
        [`ad_${'0'.repeat(10)}${org.id.slice(-16)}`, org.id, project.id, sa, media],
      );
      // An erasure request (no worker runs here) and the suppression its completion would write.
      const erasure = await t.app.inject({
        method: 'DELETE',
        url: `/v1/projects/${project.id}/events/users/u_erased?suppress=true`,
        headers: bearer(org.secret),
      });
      await t.db.systemPool.query(
        `INSERT INTO suppressions (org_id, project_id, subject_sha256, dsr_id, created_at) VALUES ($1, $2, $3, $4, now())`,
        [org.id, project.id, 'a'.repeat(64), erasure.json().id],
      );
      // Console rows of every kind: an account with a session, MFA and recovery codes, the org's
      // settings, an open invitation and a sign-in failure counted for the account.
      const email = `owner-${org.id}@example.com`;
      const owner = await member(t, org.id, email, 'owner');
      const setup = await consoleCall(t.app, owner, 'POST', '/console/api/me/mfa/setup', {
        password: STRONG_PASSWORD,
      });
      await consoleCall(t.app, owner, 'POST', '/console/api/me/mfa/confirm', {
        code: await totpCode(setup.json().secret, new Date()),
      });
      await consoleCall(t.app, owner, 'PATCH', '/console/api/settings', { mfa_required: true });
      await consoleCall(t.app, owner, 'POST', '/console/api/invitations', {
        email: `dev-${org.id}@example.com`,
        role: 'developer',
      });
      await t.app.inject({
        method: 'POST',
        url: '/console/api/sign-in',
        payload: { email, password: 'not the password 1' },
      });
    }
    await t.container.requestLog.flush();
  });
  afterAll(() => t.close());

  it("with org B's tenant setting the app role reads none of org A's rows, in any tenant table", async () => {
    const tables = await tenantTables(t.db.systemPool);
    expect(tables).toEqual(
      expect.arrayContaining([
        'orgs',
        'projects',
        'api_keys',
        'webhook_endpoints',
        'audit_log',
        'request_log',
        'idempotency_keys',
      ]),
    );
    const partitions = await partitionsAmong(t.db.systemPool, tables);
    expect(partitions.size).toBeGreaterThan(0);
    const client = await t.db.appPool.connect();
    try {
      for (const table of tables) {
        if (partitions.has(table)) {
          // Partitions are reached only through their parent (and its policy): direct access is refused.
          await expect(client.query(`SELECT count(*) FROM ${table}`)).rejects.toThrow(/permission denied/);
          continue;
        }
        const column = table === 'orgs' ? 'id' : 'org_id';
        const { rows: total } = await t.db.systemPool.query(
          `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`,
          [orgA.id],
        );
        expect(total[0].n, `${table} should hold org A rows for this test to mean anything`).toBeGreaterThan(
          0,
        );

        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.org_id', $1, true)`, [orgB.id]);
        const { rows: seen } = await client.query(
          `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`,
          [orgA.id],
        );
        const { rows: own } = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
        const { rows: foreign } = await client.query(
          `SELECT count(*)::int AS n FROM ${table} WHERE ${column} <> $1`,
          [orgB.id],
        );
        await client.query('COMMIT');
        expect(seen[0].n, table).toBe(0);
        expect(foreign[0].n, table).toBe(0);
        expect(own[0].n, table).toBeGreaterThan(0);

        // Without any tenant setting, nothing at all.
        const { rows: none } = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
        expect(none[0].n, table).toBe(0);
      }
    } finally {
      client.release();
    }
  });

  it("the app role cannot write rows into another org's tenant", async () => {
    const client = await t.db.appPool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.org_id', $1, true)`, [orgB.id]);
      await expect(
        client.query(
          `INSERT INTO projects (id, org_id, name, created_at, updated_at) VALUES ('proj_x', $1, 'sneaky', now(), now())`,
          [orgA.id],
        ),
      ).rejects.toThrow(/row-level security/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('every tenant table has RLS enabled and forced; the app role is not superuser, has no BYPASSRLS and owns nothing', async () => {
    const tables = await tenantTables(t.db.systemPool);
    const { rows } = await t.db.systemPool.query<{
      relname: string;
      relrowsecurity: boolean;
      relforcerowsecurity: boolean;
      policies: number;
    }>(
      `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
              (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relname = ANY($1)`,
      [tables],
    );
    expect(rows.length).toBe(tables.length);
    for (const row of rows) {
      expect(row.relrowsecurity, row.relname).toBe(true);
      expect(row.relforcerowsecurity, row.relname).toBe(true);
      expect(row.policies, row.relname).toBeGreaterThan(0);
    }
    const { rows: role } = await t.db.systemPool.query(
      `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`,
      [APP_ROLE],
    );
    expect(role[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    const { rows: owned } = await t.db.systemPool.query(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1`,
      [APP_ROLE],
    );
    expect(owned[0].n).toBe(0);
    const { rows: whoami } = await t.db.appPool.query('SELECT current_user AS u');
    expect(whoami[0].u).toBe(APP_ROLE);
  });

  it('partner reads run in READ ONLY transactions: a read handler cannot write', async () => {
    const request = {
      id: 'req_readonly',
      auth: { kind: 'api_key', key: { orgId: orgA.id, id: orgA.keyId, type: 'secret', projectId: null } },
    } as unknown as FastifyRequest;
    await expect(
      t.container.tenant.query(request, (scope) => sql`UPDATE projects SET name = name`.execute(scope.tx)),
    ).rejects.toThrow(/read-only transaction/);
    const rows = await t.container.tenant.query(request, (scope) =>
      sql`SELECT count(*)::int AS n FROM projects`.execute(scope.tx),
    );
    expect(rows.rows).toEqual([{ n: 1 }]);
  });

  it('the audit log is append-only for the app role', async () => {
    const client = await t.db.appPool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.org_id', $1, true)`, [orgA.id]);
      await expect(client.query(`UPDATE audit_log SET action = 'x'`)).rejects.toThrow(/permission denied/);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.org_id', $1, true)`, [orgA.id]);
      await expect(client.query(`DELETE FROM audit_log`)).rejects.toThrow(/permission denied/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });
});
