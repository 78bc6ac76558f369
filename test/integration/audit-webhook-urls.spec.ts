import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { up as redactOldWebhookUrls } from '../../src/db/migrations/0012-audit-webhook-urls.ts';
import { withTenant } from '../../src/db/tenant-transaction.ts';
import type { AuditChanges } from '../../src/modules/audit-log/audit-log-service.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
// biome-ignore lint/suspicious/noExplicitAny: stored audit changes are free-form JSON, read by the assertions
type AuditRow = { id: string; seq: string; action: string; changes: Record<string, any>; hash: string };

/**
 * Webhook URLs often carry the receiver's token (Slack, Zapier). The audit log, kept for the whole
 * partnership, records a URL as its host and SHA-256 only; nothing else that outlives the endpoint
 * (events, deliveries, request log, logs, error answers) holds its path or query. Migration 0012
 * redacts entries written before, and the org's hash chain still verifies, with every earlier hash
 * unchanged.
 */
describe('webhook URLs in the audit log', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await createTestApp({ env: { LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
    receiver = await startReceiver('/services/T0CANARY/B0CANARY/tokenCanary7f3a');
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  const auditOf = async (org: TestOrg) =>
    (
      await t.db.systemPool.query(
        `SELECT id, seq, action, changes, hash FROM audit_log WHERE org_id = $1 ORDER BY seq`,
        [org.id],
      )
    ).rows as AuditRow[];

  it('records host and hash only, and the token lands nowhere once the endpoint is gone', async () => {
    const org = await createOrg(t.app);
    const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({ method, url, headers: bearer(org.secret), ...(payload ? { payload } : {}) });
    const first = `${receiver.url}?token=queryCanary91b`;
    const second = `${receiver.url.replace('tokenCanary7f3a', 'tokenCanary2d4e')}?token=queryCanary55c`;

    // Refused URLs answer without echoing them.
    for (const bad of ['ftp://x.example/tokenCanaryBad', 'https://user:tokenCanaryPass@x.example/']) {
      const res = await send('POST', '/v1/webhooks', { url: bad, events: ['*'] });
      expect(res.statusCode).toBe(400);
      expect(res.body).not.toMatch(/Canary/);
    }

    const created = await send('POST', '/v1/webhooks', { url: first, events: ['*'] });
    expect(created.statusCode, created.body).toBe(201);
    const hook = created.json();
    // A failing attempt records codes only.
    receiver.respond({ status: 500 });
    await createProject(t.app, org);
    const { rows: due } = await t.db.systemPool.query(
      `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id`,
      [hook.id],
    );
    for (const d of due) await t.container.webhookDispatch.attempt(org.id, d.id);
    expect(receiver.received.length).toBeGreaterThan(0);
    expect((await send('PATCH', `/v1/webhooks/${hook.id}`, { url: second })).statusCode).toBe(200);
    expect(
      (await send('PATCH', `/v1/webhooks/${hook.id}`, { description: 'no url change' })).statusCode,
    ).toBe(200);
    expect((await send('DELETE', `/v1/webhooks/${hook.id}`)).statusCode).toBe(200);

    const host = new URL(receiver.url).host;
    const normalized = (u: string) => new URL(u).toString();
    const entries = (await auditOf(org)).filter((e) => e.action.startsWith('webhook_endpoint.'));
    expect(entries.map((e) => [e.action, e.changes.url])).toEqual([
      ['webhook_endpoint.created', { after: { host, sha256: sha256(normalized(first)) } }],
      [
        'webhook_endpoint.updated',
        {
          before: { host, sha256: sha256(normalized(first)) },
          after: { host, sha256: sha256(normalized(second)) },
        },
      ],
      ['webhook_endpoint.updated', undefined],
      ['webhook_endpoint.deleted', { before: { host, sha256: sha256(normalized(second)) } }],
    ]);
    const audit = await t.app.inject({
      method: 'GET',
      url: '/v1/audit-log?limit=100',
      headers: bearer(org.secret),
    });
    expect(audit.body).toContain(sha256(normalized(second)));

    await t.container.requestLog.flush();
    const dump = await dumpDatabase(t.db.systemPool);
    expect(dump).toContain(hook.id);
    expect(dump).not.toMatch(/Canary/);
    expect(t.logs.join('\n')).not.toMatch(/Canary/);
    expect(await t.container.auditLog.verifyChain(t.db.system, org.id)).toMatchObject({ ok: true });
  });

  it('migration 0012 redacts older entries and the chain still verifies, every earlier hash unchanged', async () => {
    const org = await createOrg(t.app, 'Old entries');
    const untouched = await createOrg(t.app, 'No webhooks');
    await createProject(t.app, untouched);
    const tokenUrl = 'https://hooks.slack.com/services/T0OLD/B0OLD/oldTokenCanary';
    const zapier = 'https://hooks.zapier.com/hooks/catch/123/oldZapCanary/';
    // Entries as the webhooks service wrote them before 0012 (full URLs), among ordinary ones.
    const record = (action: string, changes: AuditChanges) =>
      withTenant(t.db.system, org.id, (tx) =>
        t.container.auditLog.record(
          { tx, orgId: org.id, actor: { type: 'api_key', id: org.keyId }, requestId: null, now: new Date() },
          { action, resource: { type: 'webhook_endpoint', id: 'wh_old' }, changes },
        ),
      );
    await record('webhook_endpoint.created', { url: { after: tokenUrl }, events: { after: ['*'] } });
    await createProject(t.app, org);
    await record('webhook_endpoint.updated', { url: { before: tokenUrl, after: zapier } });
    await record('webhook_endpoint.updated', { status: { before: 'enabled', after: 'disabled' } });
    await record('webhook_endpoint.deleted', { url: { before: zapier }, events: { before: ['*'] } });
    const before = await auditOf(org);
    const untouchedBefore = await auditOf(untouched);
    expect(JSON.stringify(before)).toMatch(/oldTokenCanary/);

    await redactOldWebhookUrls(t.db.system as never);

    const after = await auditOf(org);
    expect(JSON.stringify(after)).not.toMatch(/Canary/);
    // Every earlier entry keeps its hash (so does a head recorded before), one redaction entry follows.
    expect(after.slice(0, before.length).map((e) => [e.id, e.seq, e.hash])).toEqual(
      before.map((e) => [e.id, e.seq, e.hash]),
    );
    expect(after).toHaveLength(before.length + 1);
    const redaction = after.at(-1)!;
    expect(redaction.action).toBe('audit_log.redacted');
    const redactedIds = redaction.changes.entries.after.map((e: { id: string }) => e.id);
    expect(redactedIds).toEqual(before.filter((e) => typeof e.changes.url === 'object').map((e) => e.id));
    const byId = new Map(after.map((e) => [e.id, e]));
    const first = byId.get(redactedIds[0])!;
    expect(first.changes).toEqual({
      url: { after: { host: 'hooks.slack.com', sha256: sha256(tokenUrl) } },
      events: { after: ['*'] },
    });
    expect(byId.get(redactedIds[1])!.changes.url).toEqual({
      before: { host: 'hooks.slack.com', sha256: sha256(tokenUrl) },
      after: { host: 'hooks.zapier.com', sha256: sha256(zapier) },
    });
    expect(await t.container.auditLog.verifyChain(t.db.system, org.id)).toEqual({
      ok: true,
      entries: before.length + 1,
    });
    expect(await auditOf(untouched)).toEqual(untouchedBefore);
    const listed = await t.app.inject({
      method: 'GET',
      url: '/v1/audit-log?action=audit_log.redacted',
      headers: bearer(org.secret),
    });
    expect(listed.json().data).toMatchObject([
      { id: redaction.id, actor: { type: 'system' }, resource: { type: 'audit_log', id: org.id } },
    ]);
    expect(listed.json().data[0].changes.entries.after).toHaveLength(redactedIds.length);

    // Appending goes on from the redaction entry; a second run finds nothing to do.
    await createProject(t.app, org);
    await redactOldWebhookUrls(t.db.system as never);
    expect(await auditOf(org)).toHaveLength(before.length + 2);
    expect(await t.container.auditLog.verifyChain(t.db.system, org.id)).toMatchObject({ ok: true });

    // A redacted entry altered again is still caught, and so is a forged redaction list.
    await t.db.systemPool.query(
      `UPDATE audit_log SET changes = jsonb_set(changes, '{url,after,host}', '"evil.example"') WHERE id = $1`,
      [first.id],
    );
    expect(await t.container.auditLog.verifyChain(t.db.system, org.id)).toMatchObject({
      ok: false,
      broken: { id: first.id, reason: 'content does not match its hash' },
    });
    await t.db.systemPool.query(
      `UPDATE audit_log SET changes = jsonb_set(changes, '{url,after,host}', '"hooks.slack.com"') WHERE id = $1`,
      [first.id],
    );
    expect(await t.container.auditLog.verifyChain(t.db.system, org.id)).toMatchObject({ ok: true });
    await t.db.systemPool.query(
      `UPDATE audit_log SET changes = jsonb_set(changes, '{entries,after,0,redacted_hash}', to_jsonb(repeat('0', 64)))
       WHERE id = $1`,
      [redaction.id],
    );
    expect(await t.container.auditLog.verifyChain(t.db.system, org.id)).toMatchObject({
      ok: false,
      broken: { id: first.id },
    });
  });
});
