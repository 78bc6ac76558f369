import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatVerifyReport } from '../../src/cli/verify-command.ts';
import { DAY_MS } from '../../src/lib/clock.ts';
import { databaseUrl, runCli } from '../helpers/cli.ts';
import { plantRequestLog, sdkProject } from '../helpers/retention-fixtures.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { createOrg, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * `layers verify` as an operator runs it: a child process on the live database (DATABASE_URL). It
 * passes on a clean database, and each planted violation makes it exit 3 and name it, without
 * quoting the offending value.
 */
type Report = {
  ok: boolean;
  checks: { name: string; ok: boolean; violations: ({ message: string } & Record<string, unknown>)[] }[];
};

describe('layers verify', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  let env: Record<string, string>;

  async function verify(): Promise<{ code: number | null; report: Report; raw: string }> {
    const res = await runCli(['verify', '--json'], env);
    return { code: res.code, report: JSON.parse(res.stdout) as Report, raw: res.stdout + res.stderr };
  }
  const failing = (report: Report) => report.checks.filter((c) => !c.ok).map((c) => c.name);
  const violations = (report: Report, name: string) =>
    report.checks.find((c) => c.name === name)?.violations ?? [];

  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app, 'Verified');
    const sdk = await sdkProject(t, org);
    projectId = sdk.projectId;
    await sendEvents(t.app, sdk.publishable, [
      identifyEvent('u_1', { email: 'person@example.com', plan: 'pro' }),
      trackEvent('u_1', 'opened', { note: 'write to person@example.com', ip: '81.2.69.160' }),
    ]);
    env = {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
    };
  });
  afterAll(() => t.close());

  it('passes on a clean database (ingest already hashed and dropped what it had to)', async () => {
    const { code, report, raw } = await verify();
    expect(failing(report), raw).toEqual([]);
    expect(code).toBe(0);
    expect(report.checks.map((c) => c.name)).toEqual([
      'retention',
      'pii',
      'ciphertext',
      'replay-secrets',
      'rls',
      'registry',
      'egress',
      'media',
    ]);
  });

  it('catches rows past retention', async () => {
    const id = await plantRequestLog(t.db.systemPool, org.id, new Date(Date.now() - 40 * DAY_MS));
    try {
      const { code, report } = await verify();
      expect(code).toBe(3);
      expect(failing(report)).toEqual(['retention']);
      expect(violations(report, 'retention')).toEqual([
        expect.objectContaining({ data_class: 'request_log', table: 'request_log', rows: 1 }),
      ]);
    } finally {
      await t.db.systemPool.query('DELETE FROM request_log WHERE id = $1', [id]);
    }
  });

  it('catches a project past its deletion grace period', async () => {
    const other = await sdkProject(t, org, 'Overdue');
    await t.db.systemPool.query(
      `UPDATE projects SET status = 'pending_deletion', purge_after = now() - interval '3 days' WHERE id = $1`,
      [other.projectId],
    );
    try {
      const { code, report } = await verify();
      expect(code).toBe(3);
      expect(violations(report, 'retention')[0]?.message).toContain('projects (past deletion grace)');
    } finally {
      await t.db.systemPool.query(`UPDATE projects SET status = 'active', purge_after = NULL WHERE id = $1`, [
        other.projectId,
      ]);
    }
  });

  it('catches raw email, phone and IP addresses in stored events and profiles, without quoting them', async () => {
    await t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, user_id, timestamp, received_at, received_month, properties, traits)
       VALUES ('evt_planted_email', $1, $2, 'planted-1', 'track', 'u_9', now(), now(), date_trunc('month', now())::date,
               '{"contact": "someone@example.org"}', '{}'),
              ('evt_planted_phone', $1, $2, 'planted-2', 'identify', 'u_9', now(), now(), date_trunc('month', now())::date,
               '{}', '{"nested": {"mobile_number": "+44 20 7946 0958"}}')`,
      [org.id, projectId],
    );
    await t.db.systemPool.query(
      `UPDATE user_profiles SET properties = properties || '{"last_seen_from": "81.2.69.160"}' WHERE org_id = $1`,
      [org.id],
    );
    try {
      const { code, report, raw } = await verify();
      expect(code).toBe(3);
      expect(failing(report)).toEqual(['pii']);
      const found = violations(report, 'pii').map((v) => [v.table, v.column, v.kind, v.rows]);
      expect(found).toEqual(
        expect.arrayContaining([
          ['sdk_events', 'properties', 'email address or phone number', 1],
          ['sdk_events', 'traits', 'email address or phone number', 1],
          ['user_profiles', 'properties', 'IP address or device id', 1],
        ]),
      );
      expect(violations(report, 'pii').some((v) => v.message.includes('evt_planted_email'))).toBe(true);
      for (const value of ['someone@example.org', '7946', '81.2.69.160']) expect(raw).not.toContain(value);
    } finally {
      await t.db.systemPool.query(
        `DELETE FROM sdk_events WHERE id IN ('evt_planted_email', 'evt_planted_phone')`,
      );
      await t.db.systemPool.query(
        `UPDATE user_profiles SET properties = properties - 'last_seen_from' WHERE org_id = $1`,
        [org.id],
      );
    }
  });

  // A secret column holding a value that is not ciphertext, planted past the app: verify names the
  // table, column and org, and never quotes the value.
  const PLANTED_PLAINTEXT = [
    {
      what: 'a webhook secret',
      table: 'webhook_endpoints',
      column: 'encrypted_secret',
      canary: 'whsec_plaintext',
      plant: () =>
        t.db.systemPool.query(
          `INSERT INTO webhook_endpoints (id, org_id, url, events, encrypted_secret, created_at, updated_at)
           VALUES ('planted', $1, 'https://example.com/h', '{*}', 'whsec_plaintext_secret_value', now(), now())`,
          [org.id],
        ),
    },
    {
      // The column's CHECK wants the ciphertext prefix; what follows it here is a token in the clear.
      what: 'the Meta login user token (0026)',
      table: 'social_accounts',
      column: 'encrypted_user_access_token',
      canary: 'EAALplaintext',
      plant: () =>
        t.db.systemPool.query(
          `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, status, scopes,
             encrypted_user_access_token, connected_at, created_at, updated_at)
           VALUES ('planted', $1, $2, 'facebook', 'page_planted', 'active', '{}', 'lenc1:EAALplaintextusertoken', now(), now(), now())`,
          [org.id, projectId],
        ),
    },
  ];

  it.each(PLANTED_PLAINTEXT)('catches $what that is not ciphertext, never quoting it', async (c) => {
    await c.plant();
    try {
      const { code, report, raw } = await verify();
      expect(code).toBe(3);
      expect(failing(report)).toEqual(['ciphertext']);
      expect(violations(report, 'ciphertext')).toEqual([
        expect.objectContaining({ table: c.table, column: c.column, org_id: org.id, rows: 1 }),
      ]);
      expect(raw).not.toContain(c.canary);
    } finally {
      await t.db.systemPool.query(`DELETE FROM ${c.table} WHERE id = 'planted'`);
    }
  });

  it('catches a plaintext API key or webhook secret in the idempotency cache, without quoting it', async () => {
    // What the cache held before secret-bearing responses were encrypted: a replay showing the secret.
    const key = 'lyr_sk_7Hq2mXv9LpR4sT8wYb3nKd6fG1j0aZc5e';
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${org.secret}`, 'idempotency-key': 'verify-secret' },
      payload: { name: 'replayed', type: 'secret' },
    });
    expect(created.statusCode).toBe(201);
    const clean = await verify();
    expect(failing(clean.report), clean.raw).toEqual([]);
    await t.db.systemPool.query(
      `INSERT INTO idempotency_keys (org_id, key, request_hash, status_code, response_body, created_at, expires_at)
       VALUES ($1, 'planted-a', 'h', 201, $2, now(), now() + interval '1 hour'),
              ($1, 'planted-b', 'h', 201, $3, now(), now() + interval '1 hour')`,
      [
        org.id,
        JSON.stringify({ secret: key }),
        JSON.stringify({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
      ],
    );
    try {
      const { code, report, raw } = await verify();
      expect(code).toBe(3);
      expect(failing(report)).toEqual(['replay-secrets']);
      expect(violations(report, 'replay-secrets')).toEqual([
        expect.objectContaining({ table: 'idempotency_keys', org_id: org.id, rows: 2 }),
      ]);
      expect(raw).not.toContain(key);
      expect(raw).not.toContain('whsec_MfKQ');
    } finally {
      await t.db.systemPool.query(`DELETE FROM idempotency_keys WHERE key IN ('planted-a', 'planted-b')`);
    }
  });

  it('catches a tenant table whose row-level security is not forced', async () => {
    await t.db.systemPool.query('ALTER TABLE dpa_requests NO FORCE ROW LEVEL SECURITY');
    try {
      const { code, report } = await verify();
      expect(code).toBe(3);
      expect(failing(report)).toEqual(['rls']);
      expect(violations(report, 'rls')).toEqual([
        { message: 'dpa_requests: row-level security is not forced', table: 'dpa_requests' },
      ]);
    } finally {
      await t.db.systemPool.query('ALTER TABLE dpa_requests FORCE ROW LEVEL SECURITY');
    }
  });

  it('catches a tenant table no data class claims', async () => {
    await t.db.systemPool.query('CREATE TABLE stray_things (id text PRIMARY KEY, org_id text NOT NULL)');
    try {
      const { code, report } = await verify();
      expect(code).toBe(3);
      expect(failing(report)).toEqual(['rls', 'registry']);
      expect(violations(report, 'registry')[0]?.message).toContain('stray_things: holds tenant data');
    } finally {
      await t.db.systemPool.query('DROP TABLE stray_things');
    }
  });

  it('speaks to people: a line per check, the violations under it', () => {
    const text = formatVerifyReport(
      {
        ok: false,
        checked_at: '2026-11-27T00:00:00.000Z',
        checks: [
          { name: 'retention', description: 'no rows past retention', ok: true, violations: [] },
          { name: 'rls', description: 'forced RLS', ok: false, violations: [{ message: 'x: not forced' }] },
        ],
      },
      false,
    );
    expect(text).toBe(
      [
        'layers verify — 2026-11-27T00:00:00.000Z',
        '',
        '✓ retention   no rows past retention',
        '✗ rls         forced RLS — 1 violation(s)',
        '    x: not forced',
        '',
        '1 of 2 checks found violations.',
      ].join('\n'),
    );
  });
});
