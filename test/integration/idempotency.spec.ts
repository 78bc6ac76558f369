import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

describe('Idempotency-Key', () => {
  let t: TestApp;
  let org: TestOrg;
  const clock = fixedClock(new Date('2026-11-27T10:00:00.000Z'));
  beforeAll(async () => {
    t = await createTestApp({ clock });
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const post = (key: string, body: object, secret = org.secret) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { ...bearer(secret), 'idempotency-key': key },
      payload: body,
    });

  async function countProjects(name: string): Promise<number> {
    const { rows } = await t.db.systemPool.query('SELECT count(*)::int AS n FROM projects WHERE name = $1', [
      name,
    ]);
    return rows[0].n;
  }

  it('50 concurrent POSTs with one key create exactly one project; the rest get 409 or the byte-identical replay', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => post('concurrent-1', { name: 'Once' })),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(await countProjects('Once')).toBe(1);
    const created = responses.filter((r) => r.statusCode === 201);
    const firstBody = created[0]?.body;
    for (const r of created) expect(r.body).toBe(firstBody);
    expect(created.filter((r) => r.headers['idempotent-replayed'] === 'true').length).toBe(
      created.length - 1,
    );
    for (const r of responses.filter((r) => r.statusCode === 409))
      expect(r.json().error.type).toBe('idempotency_error');
  });

  it('replays byte for byte with Idempotent-Replayed, and answers 422 for another body', async () => {
    const first = await post('replay-1', { name: 'Replay me' });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await post('replay-1', { name: 'Replay me' });
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['request-id']).not.toBe(first.headers['request-id']);
    expect(await countProjects('Replay me')).toBe(1);

    expectError(await post('replay-1', { name: 'Something else' }), 422, 'idempotency_key_reused');
  });

  it('is scoped per org and per endpoint', async () => {
    const other = await createOrg(t.app, 'Other org');
    const mine = await post('shared-key', { name: 'Mine' });
    const theirs = await post('shared-key', { name: 'Mine' }, other.secret);
    expect(mine.statusCode).toBe(201);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.json().id).not.toBe(mine.json().id);
    const sameKeyOtherEndpoint = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: { ...bearer(org.secret), 'idempotency-key': 'shared-key' },
      payload: { url: 'https://example.com/hook', events: ['*'] },
    });
    expectError(sameKeyOtherEndpoint, 422, 'idempotency_key_reused');
  });

  it('counts the query string as part of the request: ?suppress=true under a used key answers 422', async () => {
    const project = await createProject(t.app, org);
    const erase = (query: string) =>
      t.app.inject({
        method: 'DELETE',
        url: `/v1/projects/${project.id}/events/users/u_query${query}`,
        headers: { ...bearer(org.secret), 'idempotency-key': 'erase-query-1' },
      });
    const first = await erase('');
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json().suppress).toBe(false);
    expectError(await erase('?suppress=true'), 422, 'idempotency_key_reused');
    const again = await erase('');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
  });

  it('expires after the 24 h replay window', async () => {
    const first = await post('window-1', { name: 'Windowed' });
    clock.advance(23 * 3_600_000);
    expect((await post('window-1', { name: 'Windowed' })).headers['idempotent-replayed']).toBe('true');
    clock.advance(2 * 3_600_000);
    const after = await post('window-1', { name: 'Windowed' });
    expect(after.statusCode).toBe(201);
    expect(after.headers['idempotent-replayed']).toBeUndefined();
    expect(after.json().id).not.toBe(first.json().id);
  });

  it('does not store failures: a corrected retry with the same key succeeds', async () => {
    expectError(
      await t.app.inject({
        method: 'PATCH',
        url: '/v1/projects/proj_00000000000000000000000000',
        headers: { ...bearer(org.secret), 'idempotency-key': 'fail-1' },
        payload: { name: 'x' },
      }),
      404,
    );
    expect((await post('fail-1', { name: 'After failure' })).statusCode).toBe(201);
  });

  it('refuses malformed keys and never stores the raw key', async () => {
    expectError(await post('x'.repeat(256), { name: 'n' }), 400, 'parameter_invalid');
    expectError(await post('has space', { name: 'n' }), 400, 'parameter_invalid');
    await post('raw-key-canary-7f3a', { name: 'Hashed key' });
    const { rows } = await t.db.systemPool.query('SELECT key FROM idempotency_keys');
    expect(rows.some((r) => r.key.includes('canary'))).toBe(false);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.key))).toBe(true);
  });
});
