import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createContainer } from '../../src/container.ts';
import { createLogger } from '../../src/http/logging.ts';
import { fixedClock } from '../../src/lib/clock.ts';
import { createEnvelope, parseKeyEncryptionKeys } from '../../src/lib/envelope-crypto.ts';
import {
  bearer,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

describe('API keys', () => {
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  it('shows the secret once, stores only its SHA-256, and never lists secrets', async () => {
    const created = await createKey(t.app, org, { type: 'secret', name: 'server' });
    expect(created.secret).toMatch(/^lyr_sk_/);
    const { rows } = await t.db.systemPool.query('SELECT * FROM api_keys WHERE id = $1', [created.id]);
    expect(JSON.stringify(rows[0])).not.toContain(created.secret);
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    const list = await t.app.inject({
      method: 'GET',
      url: '/v1/api-keys?limit=100',
      headers: bearer(org.secret),
    });
    expect(list.body).not.toContain('lyr_sk_');
    const got = await t.app.inject({
      method: 'GET',
      url: `/v1/api-keys/${created.id}`,
      headers: bearer(org.secret),
    });
    expect(got.json()).not.toHaveProperty('secret');
    expect(got.json().last4).toBe(created.secret.slice(-4));
  });

  it('requires project_id for publishable keys only, and an active project of this org', async () => {
    const base = { method: 'POST' as const, url: '/v1/api-keys', headers: bearer(org.secret) };
    expectError(
      await t.app.inject({ ...base, payload: { name: 'p', type: 'publishable' } }),
      400,
      'parameter_invalid',
    );
    const project = await createProject(t.app, org);
    expectError(
      await t.app.inject({ ...base, payload: { name: 's', type: 'secret', project_id: project.id } }),
      400,
    );
    const other = await createOrg(t.app, 'Other');
    const foreign = await createProject(t.app, other);
    expectError(
      await t.app.inject({ ...base, payload: { name: 'p', type: 'publishable', project_id: foreign.id } }),
      404,
    );
    const ok = await t.app.inject({
      ...base,
      payload: { name: 'p', type: 'publishable', project_id: project.id },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ type: 'publishable', project_id: project.id });
    expect(ok.json().secret).toMatch(/^lyr_pk_/);
    await t.app.inject({ method: 'DELETE', url: `/v1/projects/${project.id}`, headers: bearer(org.secret) });
    expectError(
      await t.app.inject({ ...base, payload: { name: 'p', type: 'publishable', project_id: project.id } }),
      400,
    );
  });

  it('refuses a revoked key at once in the revoking process and within 5 s in another process', async () => {
    const key = await createKey(t.app, org, { type: 'secret' });
    // A second, independent instance of the platform on the same database (another process in production).
    const envelope = createEnvelope(parseKeyEncryptionKeys(t.config.encryptionKey as string));
    const container2 = createContainer({ config: t.config, dbs: t.db, envelope, geo: t.container.geo });
    const app2 = await buildApp({
      config: t.config,
      container: container2,
      logger: createLogger({ level: 'silent' }),
    });
    container2.start();
    try {
      expect(
        (await app2.inject({ method: 'GET', url: '/v1/projects', headers: bearer(key.secret) })).statusCode,
      ).toBe(200);
      const revoked = await t.app.inject({
        method: 'DELETE',
        url: `/v1/api-keys/${key.id}`,
        headers: bearer(org.secret),
      });
      expect(revoked.json().revoked_at).not.toBeNull();
      expectError(
        await t.app.inject({ method: 'GET', url: '/v1/projects', headers: bearer(key.secret) }),
        401,
        'revoked_api_key',
      );
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 6000) {
        status = (await app2.inject({ method: 'GET', url: '/v1/projects', headers: bearer(key.secret) }))
          .statusCode;
        if (status === 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await app2.close();
      await container2.stop();
    }
  });

  it('keeps last_used_at without a write per request', async () => {
    const key = await createKey(t.app, org, { type: 'secret' });
    for (let i = 0; i < 5; i++)
      await t.app.inject({ method: 'GET', url: '/v1/projects', headers: bearer(key.secret) });
    const before = await t.db.systemPool.query('SELECT last_used_at FROM api_keys WHERE id = $1', [key.id]);
    expect(before.rows[0].last_used_at).toBeNull();
    await t.container.authenticator.flushTouched();
    const after = await t.db.systemPool.query('SELECT last_used_at FROM api_keys WHERE id = $1', [key.id]);
    expect(after.rows[0].last_used_at).toBeInstanceOf(Date);
  });

  it('refuses keys of an offboarded org', async () => {
    const gone = await createOrg(t.app, 'Leaving');
    const res = await t.app.inject({
      method: 'POST',
      url: `/admin/v1/orgs/${gone.id}/offboard`,
      headers: bearer('test-admin-token-0123456789abcdef'),
    });
    expect(res.json().status).toBe('offboarded');
    expectError(
      await t.app.inject({ method: 'GET', url: '/v1/projects', headers: bearer(gone.secret) }),
      401,
      'revoked_api_key',
    );
  });

  it('rate-limits per key with 429 and Retry-After', async () => {
    const limited = await createTestApp({ env: { LAYERS_RATE_LIMIT_SECRET_PER_S: '2' } });
    try {
      const o = await createOrg(limited.app);
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 8; i++) {
        const res = await limited.app.inject({
          method: 'GET',
          url: '/v1/projects',
          headers: bearer(o.secret),
        });
        statuses.push(res.statusCode);
        if (res.statusCode === 429) retryAfter = res.headers['retry-after'] as string;
      }
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it("rate-limits an org's keys together: minting keys does not multiply the rate", async () => {
    // A held clock: no token refills while the test runs, however slow the machine.
    const clock = fixedClock(new Date('2026-11-27T10:00:00.000Z'));
    const limited = await createTestApp({
      clock,
      env: { LAYERS_RATE_LIMIT_SECRET_PER_S: '2', LAYERS_RATE_LIMIT_ORG_SECRET_PER_S: '3' },
    });
    try {
      const o = await createOrg(limited.app);
      const minted = [o.secret];
      for (let i = 0; i < 3; i++) minted.push((await createKey(limited.app, o, { type: 'secret' })).secret);
      clock.advance(10_000); // every bucket full again: 4 per key, 6 for the org
      const responses = [];
      // Twelve requests over four keys: three a key, under each key's burst of four.
      for (let i = 0; i < 12; i++)
        responses.push(
          await limited.app.inject({
            method: 'GET',
            url: '/v1/projects',
            headers: bearer(minted[i % 4] as string),
          }),
        );
      expect(responses.map((r) => r.statusCode)).toEqual([
        200, 200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429,
      ]);
      const refused = responses[6];
      expect(refused?.json().error.code).toBe('rate_limited');
      expect(refused?.json().error.message).toContain('organisation');
      expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another org is not held back by this one.
      const other = await createOrg(limited.app, 'Other');
      expect(
        (await limited.app.inject({ method: 'GET', url: '/v1/projects', headers: bearer(other.secret) }))
          .statusCode,
      ).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
