import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_CATALOG } from '../../src/jobs/job-catalog.ts';
import { fixedClock, HOUR_MS } from '../../src/lib/clock.ts';
import { looksLikeCiphertext } from '../../src/lib/envelope-crypto.ts';
import { sha256 } from '../helpers/hash.ts';
import { staticResolver } from '../helpers/static-resolver.ts';
import { bearer, createOrg, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * API.md: "A stored response that carries a secret (the `secret` of a new API key or webhook) is kept
 * only as envelope ciphertext and deleted when the window ends." The replay still shows the secret
 * (byte for byte), but nothing in the database holds it in plaintext.
 */
describe('Idempotency-Key on secret-bearing responses', () => {
  let t: TestApp;
  let org: TestOrg;
  const clock = fixedClock(new Date('2026-11-27T10:00:00.000Z'));
  beforeAll(async () => {
    t = await createTestApp({ clock, resolver: staticResolver({ 'hooks.example.test': ['93.184.215.14'] }) });
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const send = (method: 'POST', url: string, key: string, payload: object) =>
    t.app.inject({ method, url, headers: { ...bearer(org.secret), 'idempotency-key': key }, payload });

  async function row(rawKey: string) {
    const { rows } = await t.db.systemPool.query(
      'SELECT response_body, encrypted_response_body FROM idempotency_keys WHERE org_id = $1 AND key = $2',
      [org.id, sha256(rawKey)],
    );
    return rows[0] as { response_body: string | null; encrypted_response_body: string | null } | undefined;
  }

  async function databaseHolds(text: string): Promise<boolean> {
    const { rows } = await t.db.systemPool.query(
      `SELECT count(*)::int AS n FROM idempotency_keys WHERE strpos(coalesce(response_body, '') || coalesce(encrypted_response_body, ''), $1) > 0`,
      [text],
    );
    return rows[0].n > 0;
  }

  it.each([
    ['an API key', '/v1/api-keys', { name: 'ci', type: 'secret' }, /^lyr_sk_/],
    ['a webhook', '/v1/webhooks', { url: 'https://hooks.example.test/in', events: ['*'] }, /^whsec_/],
  ])(
    'creating %s stores only ciphertext, and the replay still shows the secret',
    async (_what, url, body, shape) => {
      const idem = `secret-${url}`;
      const first = await send('POST', url, idem, body);
      expect(first.statusCode, first.body).toBe(201);
      const secret = first.json().secret as string;
      expect(secret).toMatch(shape);

      const stored = await row(idem);
      expect(stored?.response_body).toBeNull();
      expect(looksLikeCiphertext(stored?.encrypted_response_body ?? '')).toBe(true);
      expect(await databaseHolds(secret)).toBe(false);

      const again = await send('POST', url, idem, body);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toBe(first.body);
    },
  );

  it('rotating a webhook secret is kept as ciphertext too', async () => {
    const created = await send('POST', '/v1/webhooks', 'hook-for-rotate', {
      url: 'https://hooks.example.test/rotate',
      events: ['*'],
    });
    const rotated = await send('POST', `/v1/webhooks/${created.json().id}/rotate-secret`, 'rotate-1', {});
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(await databaseHolds(rotated.json().secret)).toBe(false);
    expect((await row('rotate-1'))?.response_body).toBeNull();
  });

  it('binds the ciphertext to its org, key and field: moved to another row it does not replay', async () => {
    const a = await send('POST', '/v1/api-keys', 'bound-a', { name: 'a', type: 'secret' });
    const b = await send('POST', '/v1/api-keys', 'bound-b', { name: 'b', type: 'secret' });
    const { rows } = await t.db.systemPool.query(
      'SELECT key, encrypted_response_body AS c FROM idempotency_keys WHERE org_id = $1 AND key = ANY($2)',
      [org.id, [sha256('bound-a'), sha256('bound-b')]],
    );
    const ciphertextOf = (raw: string) => rows.find((r) => r.key === sha256(raw))?.c as string;
    const context = (raw: string) => ({ orgId: org.id, recordId: sha256(raw), field: 'response_body' });
    expect(t.container.envelope.decrypt(ciphertextOf('bound-a'), context('bound-a'))).toBe(a.body);
    expect(() => t.container.envelope.decrypt(ciphertextOf('bound-a'), context('bound-b'))).toThrow();
    expect(() =>
      t.container.envelope.decrypt(ciphertextOf('bound-a'), { ...context('bound-a'), orgId: 'org_other' }),
    ).toThrow();
    expect(b.json().secret).not.toBe(a.json().secret);
  });

  it('deletes a secret-bearing entry when its window ends; plain entries wait for the sweeper', async () => {
    await send('POST', '/v1/api-keys', 'expiring-secret', { name: 'x', type: 'secret' });
    await send('POST', '/v1/projects', 'expiring-plain', { name: 'Plain' });
    expect(await row('expiring-secret')).toBeDefined();
    expect(await t.container.idempotency.deleteExpiredSecrets()).toBe(0);
    clock.advance(24 * HOUR_MS + 1);
    expect(await t.container.idempotency.deleteExpiredSecrets()).toBeGreaterThanOrEqual(1);
    expect(await row('expiring-secret')).toBeUndefined();
    expect(await row('expiring-plain')).toBeDefined();
    const { rows } = await t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM idempotency_keys WHERE encrypted_response_body IS NOT NULL AND expires_at <= $1',
      [clock.now()],
    );
    expect(rows[0].n).toBe(0);
  });

  it('a job every minute does the deleting', async () => {
    await send('POST', '/v1/api-keys', 'expiring-by-job', { name: 'y', type: 'secret' });
    clock.advance(24 * HOUR_MS + 1);
    const job = JOB_CATALOG.find((j) => j.name === 'idempotency.expire_secrets');
    expect(job?.cron).toBe('* * * * *');
    await job?.run({}, { container: t.container, logger: pino({ level: 'silent' }) });
    expect(await row('expiring-by-job')).toBeUndefined();
  });
});
