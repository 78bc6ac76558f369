import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEnvelope,
  looksLikeCiphertext,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import { SECRET_FIELD } from '../../src/modules/webhooks/webhooks-service.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import {
  bearer,
  createOrg,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

describe('webhook endpoints', () => {
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const create = (payload: object) =>
    t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(org.secret), payload });

  it('returns the signing secret once and stores it only as envelope ciphertext bound to the endpoint', async () => {
    const res = await create({
      url: 'https://example.com/hooks',
      events: ['project.created', 'api_key.revoked'],
      description: 'main',
    });
    expect(res.statusCode).toBe(201);
    const { id, secret } = res.json();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const dump = await dumpDatabase(t.db.systemPool);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice('whsec_'.length));
    const { rows } = await t.db.systemPool.query(
      'SELECT encrypted_secret FROM webhook_endpoints WHERE id = $1',
      [id],
    );
    expect(looksLikeCiphertext(rows[0].encrypted_secret)).toBe(true);
    const envelope = createEnvelope(parseKeyEncryptionKeys(t.config.encryptionKey as string));
    expect(
      envelope.decrypt(rows[0].encrypted_secret, { orgId: org.id, recordId: id, field: SECRET_FIELD }),
    ).toBe(secret);

    for (const url of [`/v1/webhooks/${id}`, '/v1/webhooks']) {
      const body = (await t.app.inject({ method: 'GET', url, headers: bearer(org.secret) })).body;
      expect(body).not.toContain('whsec_');
      expect(body).not.toContain('encrypted');
    }
  });

  it('updates and deletes', async () => {
    const { id } = (await create({ url: 'https://example.com/a', events: ['*'] })).json();
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhooks/${id}`,
      headers: bearer(org.secret),
      payload: { url: 'https://example.com/b', status: 'disabled', description: null },
    });
    expect(patched.json()).toMatchObject({
      url: 'https://example.com/b',
      status: 'disabled',
      description: null,
    });
    expect(patched.body).not.toContain('whsec_');
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/webhooks/${id}`,
      headers: bearer(org.secret),
    });
    expect(deleted.statusCode).toBe(200);
    expectError(
      await t.app.inject({ method: 'GET', url: `/v1/webhooks/${id}`, headers: bearer(org.secret) }),
      404,
    );
  });

  it('validates URLs and event types', async () => {
    for (const url of [
      'not a url',
      'ftp://example.com/x',
      'https://user:pass@example.com/x',
      'https://example.com/#frag',
    ]) {
      const error = expectError(await create({ url, events: ['*'] }), 400);
      expect(error.param).toBe('url');
    }
    expectError(await create({ url: 'https://example.com', events: [] }), 400);
    expectError(await create({ url: 'https://example.com', events: ['no.such.event'] }), 400);
    expectError(await create({ url: 'https://example.com', events: ['*', '*'] }), 400);
  });

  it('requires https in production', async () => {
    const prod = await createTestApp({ env: { LAYERS_ENV: 'production' } });
    try {
      const o = await createOrg(prod.app);
      const res = await prod.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(o.secret),
        payload: { url: 'http://example.com/hook', events: ['*'] },
      });
      expect(expectError(res, 400).param).toBe('url');
    } finally {
      await prod.close();
    }
  });
});
