import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, runCli } from '../helpers/cli.ts';
import { createSdkProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * `layers verify` finds the shapes of personal data the ingest guard now recognises (issue 13,
 * item 10) when they sit in stored rows (written before the guard knew them): national-format
 * phones, phones under plural keys, percent-encoded emails, and an email as user_id or in an
 * event name. It names tables, columns and counts, never the values.
 */
describe('layers verify: the PII shapes of issue 13', () => {
  let t: TestApp;
  let orgId: string;
  let projectId: string;
  beforeAll(async () => {
    t = await createTestApp();
    const sdk = await createSdkProject(t.app, 'Verified shapes');
    orgId = sdk.org.id;
    projectId = sdk.projectId;
  });
  afterAll(() => t.close());

  it('flags them in JSON and in the envelope columns without quoting them', async () => {
    const plant = (id: string, userId: string, event: string | null, properties: object) =>
      t.db.systemPool.query(
        `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
                                 received_month, properties, traits)
         VALUES ($1, $2, $3, $1, 'track', $4, $5, now(), now(), date_trunc('month', now())::date, $6, '{}')`,
        [id, orgId, projectId, event, userId, JSON.stringify(properties)],
      );
    await plant('evt_planted_national', 'u_1', 'x', { contact: '020 7946 0958' });
    await plant('evt_planted_plural', 'u_1', 'x', { phones: ['650 555 0143'] });
    await plant('evt_planted_encoded', 'u_1', 'x', { landing: '/?e=someone%40example.org' });
    await plant('evt_planted_user', ' Someone@Example.org', 'x', {});
    await plant('evt_planted_event', 'u_2', 'mail someone@example.org', {});
    await plant('evt_planted_clean', '123-456-7890', 'purchase', { version: '10.0.19045.3803' });

    const res = await runCli(['verify', '--json'], {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
    });
    const report = JSON.parse(res.stdout) as {
      checks: { name: string; violations: Record<string, unknown>[] }[];
    };
    const found = (report.checks.find((c) => c.name === 'pii')?.violations ?? []).map((v) => [
      v.table,
      v.column,
      v.rows,
    ]);
    expect(res.code).toBe(3);
    expect(found).toEqual(
      expect.arrayContaining([
        ['sdk_events', 'properties', 3],
        ['sdk_events', 'user_id', 1],
        ['sdk_events', 'event', 1],
      ]),
    );
    expect(found).toHaveLength(3);
    for (const value of ['7946', '0143', 'someone', '%40'])
      expect(res.stdout + res.stderr).not.toContain(value);
  });
});
