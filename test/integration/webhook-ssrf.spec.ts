import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createContainer } from '../../src/container.ts';
import { generateKeyEncryptionKey } from '../../src/lib/envelope-crypto.ts';
import { staticResolver } from '../helpers/static-resolver.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * The SSRF guard with LAYERS_ALLOW_PRIVATE_WEBHOOKS off (the default). Hermetic: the resolver is a
 * stub, nothing is ever sent to a non-loopback address (a name that resolves publicly is only ever
 * checked, never connected to), and the one receiver listens on 127.0.0.1 to prove it is refused.
 */
describe('webhook SSRF guard', () => {
  const resolver = staticResolver({
    'loopback.example.test': ['127.0.0.1'],
    'metadata.example.test': ['169.254.169.254'],
    'split.example.test': ['93.184.215.14', '10.0.0.7'],
    'public.example.test': ['93.184.215.14'],
  });
  let t: TestApp;
  let org: TestOrg;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await createTestApp({ resolver });
    expect(t.config.allowPrivateWebhooks).toBe(false);
    org = await createOrg(t.app);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  const create = (url: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(org.secret),
      payload: { url, events: ['*'] },
    });

  it.each([
    ['loopback IPv4', 'http://127.0.0.1/hooks'],
    ['private IPv4', 'http://10.0.0.1/hooks'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['loopback IPv6', 'http://[::1]/hooks'],
    ['unique-local IPv6', 'http://[fc00::1]/hooks'],
    ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]/hooks'],
    ['AWS IPv6 metadata', 'http://[fd00:ec2::254]/hooks'],
    ['CGNAT', 'https://100.64.1.1/hooks'],
    ['decimal IPv4', 'http://2130706433/hooks'],
    ['a name resolving to 127.0.0.1', 'https://loopback.example.test/hooks'],
    ['a name resolving to the metadata address', 'https://metadata.example.test/hooks'],
    ['a name with one private answer among public ones', 'https://split.example.test/hooks'],
  ])('refuses an endpoint URL reaching %s (400)', async (_kind, url) => {
    const error = expectError(await create(url), 400, 'parameter_invalid');
    expect(error.param).toBe('url');
    expect(error.message).not.toContain(url);
  });

  it('refuses such a URL on update too, and stores nothing', async () => {
    const ok = await create('https://public.example.test/hooks');
    expect(ok.statusCode, ok.body).toBe(201);
    const id = ok.json().id;
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhooks/${id}`,
      headers: bearer(org.secret),
      payload: { url: 'http://[::ffff:a9fe:a9fe]/x' },
    });
    expect(expectError(patched, 400).param).toBe('url');
    const { rows } = await t.db.systemPool.query(`SELECT url FROM webhook_endpoints WHERE org_id = $1`, [
      org.id,
    ]);
    expect(rows.map((r) => r.url)).toEqual(['https://public.example.test/hooks']);
    await t.app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: bearer(org.secret) });
  });

  it('checks again at connection time: a name rebound to loopback after creation is refused, unconnected', async () => {
    const other = await createOrg(t.app, 'Rebinding');
    const name = 'rebind.example.test';
    resolver.set(name, ['93.184.215.14']);
    const url = `http://${name}:${receiver.port}/hooks`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(other.secret),
      payload: { url, events: ['project.created'] },
    });
    expect(res.statusCode, res.body).toBe(201);
    const hookId = res.json().id;

    resolver.set(name, ['127.0.0.1']);
    await createProject(t.app, other);
    const { rows } = await t.db.systemPool.query(
      `SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`,
      [hookId],
    );
    expect(rows).toHaveLength(1);
    const result = await t.container.webhookDispatch.attempt(other.id, rows[0].id);
    expect(result).toMatchObject({ outcome: 'retrying', error: 'address_refused', statusCode: null });
    expect(receiver.received).toHaveLength(0);

    // An IP literal the guard refuses, put straight into the table (as if stored before a policy
    // change): refused at connection time as well.
    await t.db.systemPool.query(`UPDATE webhook_endpoints SET url = $2 WHERE id = $1`, [
      hookId,
      `http://127.0.0.1:${receiver.port}/hooks`,
    ]);
    await t.db.systemPool.query(`UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = $1`, [
      rows[0].id,
    ]);
    expect(await t.container.webhookDispatch.attempt(other.id, rows[0].id)).toMatchObject({
      error: 'address_refused',
    });
    expect(receiver.received).toHaveLength(0);
    const shown = await t.app.inject({
      method: 'GET',
      url: `/v1/webhooks/${hookId}/deliveries`,
      headers: bearer(other.secret),
    });
    expect(shown.json().data[0].attempts.map((a: { error: string }) => a.error)).toEqual([
      'address_refused',
      'address_refused',
    ]);
  });
});

/**
 * LAYERS_ALLOW_PRIVATE_WEBHOOKS is for development and tests: production refuses to start with it,
 * and it only ever lifts the address check, never the https requirement.
 */
describe('LAYERS_ALLOW_PRIVATE_WEBHOOKS', () => {
  const base = { LAYERS_ENCRYPTION_KEY: generateKeyEncryptionKey() };

  it('is refused with a configuration error when LAYERS_ENV=production', () => {
    expect(() =>
      loadConfig({ ...base, LAYERS_ENV: 'production', LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ ...base, LAYERS_ENV: 'production', LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' }),
    ).toThrow(/LAYERS_ALLOW_PRIVATE_WEBHOOKS.*LAYERS_ENV=production/);
    expect(loadConfig({ ...base, LAYERS_ENV: 'production' }).allowPrivateWebhooks).toBe(false);
    expect(loadConfig({ ...base, LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' }).allowPrivateWebhooks).toBe(true);
  });

  it('never lifts the https requirement of production, even in a config built without loadConfig', async () => {
    const t = await createTestApp();
    const config = { ...t.config, env: 'production' as const, allowPrivateWebhooks: true };
    const container = createContainer({
      config,
      dbs: t.db,
      envelope: t.container.envelope,
      geo: t.container.geo,
      resolver: staticResolver(),
    });
    try {
      await expect(container.webhooks.vetUrl('http://127.0.0.1:9/hooks')).rejects.toMatchObject({
        code: 'parameter_invalid',
        message: 'url must use https.',
      });
      // The address check is what it lifts: a private https URL passes.
      await expect(container.webhooks.vetUrl('https://127.0.0.1:9/hooks')).resolves.toBe(
        'https://127.0.0.1:9/hooks',
      );
    } finally {
      await container.stop();
      await t.close();
    }
  });

  it('in development, http is allowed with or without it (only the address check differs)', async () => {
    const open = await createTestApp({ env: { LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
    const closed = await createTestApp();
    try {
      await expect(open.container.webhooks.vetUrl('http://127.0.0.1:9/hooks')).resolves.toBeTruthy();
      await expect(closed.container.webhooks.vetUrl('http://127.0.0.1:9/hooks')).rejects.toMatchObject({
        param: 'url',
      });
      await expect(closed.container.webhooks.vetUrl('http://93.184.215.14/hooks')).resolves.toBeTruthy();
    } finally {
      await open.close();
      await closed.close();
    }
  });
});
