import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, runCli } from '../helpers/cli.ts';
import {
  bearer,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

describe('audit log', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
    projectId = (await createProject(t.app, org, 'Audited')).id;
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/projects/${projectId}`,
      headers: bearer(org.secret),
      payload: { name: 'Audited 2' },
    });
    const key = await createKey(t.app, org, { type: 'secret', name: 'ci' });
    await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${key.id}`, headers: bearer(org.secret) });
    const hook = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(org.secret),
      payload: { url: 'https://example.com/hook', events: ['project.created'] },
    });
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhooks/${hook.json().id}`,
      headers: bearer(org.secret),
      payload: { status: 'disabled' },
    });
    await t.app.inject({
      method: 'DELETE',
      url: `/v1/webhooks/${hook.json().id}`,
      headers: bearer(org.secret),
    });
    await t.app.inject({ method: 'DELETE', url: `/v1/projects/${projectId}`, headers: bearer(org.secret) });
  });
  afterAll(() => t.close());

  const list = async (query = '') =>
    (await t.app.inject({ method: 'GET', url: `/v1/audit-log${query}`, headers: bearer(org.secret) })).json();

  it('records every create/update/delete with actor, resource, changes and request id', async () => {
    const page = await list('?limit=100');
    const actions = page.data.map((e: { action: string }) => e.action).reverse();
    expect(actions).toEqual([
      'org.created',
      'api_key.created',
      'project.created',
      'project.updated',
      'api_key.created',
      'api_key.revoked',
      'webhook_endpoint.created',
      'webhook_endpoint.updated',
      'webhook_endpoint.deleted',
      'project.deleted',
    ]);
    const updated = page.data.find((e: { action: string }) => e.action === 'project.updated');
    expect(updated).toMatchObject({
      actor: { type: 'api_key', id: org.keyId },
      resource: { type: 'project', id: projectId },
      changes: { name: { before: 'Audited', after: 'Audited 2' } },
    });
    expect(updated.request_id).toMatch(/^req_/);
    const webhookCreated = page.data.find((e: { action: string }) => e.action === 'webhook_endpoint.created');
    expect(JSON.stringify(webhookCreated)).not.toContain('whsec_');
  });

  it('filters by action, resource, actor and time, with cursors', async () => {
    expect((await list('?action=project.updated')).data).toHaveLength(1);
    expect((await list(`?resource_type=project&resource_id=${projectId}`)).data).toHaveLength(3);
    expect((await list(`?actor_id=${org.keyId}`)).data.length).toBe(8);
    expect((await list('?since=2999-01-01T00:00:00Z')).data).toHaveLength(0);
    expect((await list('?until=2000-01-01T00:00:00Z')).data).toHaveLength(0);
    const first = await list('?limit=3');
    expect(first.has_more).toBe(true);
    const second = await list(`?limit=3&starting_after=${first.data[2].id}`);
    expect(second.data[0].id < first.data[2].id).toBe(true);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/v1/audit-log?since=yesterday',
      headers: bearer(org.secret),
    });
    expect(bad.statusCode).toBe(400);
  });

  it('verifies the hash chain, and `layers audit verify` names the first tampered entry', async () => {
    expect(await t.container.auditLog.verifyChain(t.db.system, org.id)).toEqual({ ok: true, entries: 10 });
    const env = {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
    };
    const clean = await runCli(['audit', 'verify', '--org', org.id, '--json'], env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, entries: 10 });

    const { rows } = await t.db.systemPool.query(`SELECT id FROM audit_log WHERE org_id = $1 AND seq = 4`, [
      org.id,
    ]);
    const tamperedId = rows[0].id;
    await t.db.systemPool.query(
      `UPDATE audit_log SET changes = '{"name": {"after": "forged"}}' WHERE id = $1`,
      [tamperedId],
    );

    const broken = await runCli(['audit', 'verify', '--org', org.id, '--json'], env);
    expect(broken.code).toBe(3);
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      entries: 3,
      broken: { id: tamperedId, seq: 4 },
    });
    const human = await runCli(['audit', 'verify', '--org', org.id], env);
    expect(human.stdout).toContain(tamperedId);
  });

  it('detects a deleted entry and a truncated tail', async () => {
    const other = await createOrg(t.app, 'Chain 2');
    for (let i = 0; i < 3; i++) await createProject(t.app, other, `p${i}`);
    await t.db.systemPool.query(`DELETE FROM audit_log WHERE org_id = $1 AND seq = 2`, [other.id]);
    const gap = await t.container.auditLog.verifyChain(t.db.system, other.id);
    expect(gap).toMatchObject({ ok: false, broken: { seq: 3 } });
    await t.db.systemPool.query(`DELETE FROM audit_log WHERE org_id = $1 AND seq >= 3`, [other.id]);
    const tail = await t.container.auditLog.verifyChain(t.db.system, other.id);
    expect(tail.ok).toBe(false);
  });
});
