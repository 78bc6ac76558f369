import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  bearer,
  createKey,
  createOrg,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

describe('projects', () => {
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  it('creates, reads, lists, renames and deletes into the grace period', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: bearer(org.secret),
      payload: { name: 'Web' },
    });
    expect(created.statusCode).toBe(201);
    const project = created.json();
    expect(project).toMatchObject({ name: 'Web', status: 'active', purge_after: null });
    expect(project.id).toMatch(/^proj_/);
    expect(created.headers['request-id']).toMatch(/^req_/);

    const got = await t.app.inject({
      method: 'GET',
      url: `/v1/projects/${project.id}`,
      headers: bearer(org.secret),
    });
    expect(got.json()).toEqual(project);

    const renamed = await t.app.inject({
      method: 'PATCH',
      url: `/v1/projects/${project.id}`,
      headers: bearer(org.secret),
      payload: { name: 'Web app' },
    });
    expect(renamed.json().name).toBe('Web app');

    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${project.id}`,
      headers: bearer(org.secret),
    });
    expect(deleted.statusCode).toBe(200);
    const body = deleted.json();
    expect(body.status).toBe('pending_deletion');
    const graceDays = (Date.parse(body.purge_after) - Date.now()) / 86_400_000;
    expect(graceDays).toBeGreaterThan(29.9);
    expect(graceDays).toBeLessThan(30.1);

    const list = await t.app.inject({
      method: 'GET',
      url: '/v1/projects?limit=5',
      headers: bearer(org.secret),
    });
    expect(list.json()).toMatchObject({ object: 'list', has_more: false });
    expect(list.json().data.map((p: { id: string }) => p.id)).toContain(project.id);
  });

  it('paginates newest first with cursors both ways', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: bearer(org.secret),
        payload: { name: `p${i}` },
      });
      ids.push(res.json().id);
    }
    const first = (
      await t.app.inject({ method: 'GET', url: '/v1/projects?limit=2', headers: bearer(org.secret) })
    ).json();
    expect(first.data.map((p: { id: string }) => p.id)).toEqual([ids[4], ids[3]]);
    expect(first.has_more).toBe(true);
    const next = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/projects?limit=2&starting_after=${ids[3]}`,
        headers: bearer(org.secret),
      })
    ).json();
    expect(next.data.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
    const back = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/projects?limit=2&ending_before=${ids[2]}`,
        headers: bearer(org.secret),
      })
    ).json();
    expect(back.data.map((p: { id: string }) => p.id)).toEqual([ids[4], ids[3]]);
  });

  it('validates input with clear errors and never answers 500', async () => {
    const cases = [
      { payload: {}, param: 'name' },
      { payload: { name: '' }, param: 'name' },
      { payload: { name: 'x'.repeat(201) }, param: 'name' },
      { payload: { name: 42 }, param: 'name' },
      { payload: { name: 'ok', extra: true }, param: undefined },
      { payload: { name: 'a\u0000b' }, param: undefined },
    ];
    for (const c of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: bearer(org.secret),
        payload: c.payload,
      });
      const error = expectError(res, 400);
      expect(error.type).toBe('invalid_request_error');
      if (c.param) expect(error.param).toBe(c.param);
    }
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { ...bearer(org.secret), 'content-type': 'application/json' },
      payload: '{"name": "secret-canary@example.com',
    });
    const error = expectError(malformed, 400, 'invalid_request');
    expect(error.message).not.toContain('canary');
    expectError(
      await t.app.inject({ method: 'GET', url: '/v1/projects?limit=0', headers: bearer(org.secret) }),
      400,
    );
    expectError(
      await t.app.inject({ method: 'GET', url: '/v1/projects?limit=101', headers: bearer(org.secret) }),
      400,
    );
    expectError(
      await t.app.inject({ method: 'GET', url: '/v1/projects/proj_nope', headers: bearer(org.secret) }),
      404,
      'resource_missing',
    );
    const tooBig = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { ...bearer(org.secret), 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x', pad: 'y'.repeat(1_100_000) }),
    });
    expectError(tooBig, 413, 'body_too_large');
  });
});

describe('projects: PII policy', () => {
  const clock = fixedClock(new Date());
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await createTestApp({ clock });
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const raw = () => trackEvent('u_pii', 'signup', { contact: 'person@example.com' });

  it('is "hash" by default, can be set on create and by PATCH, is audited, and ingest honours it', async () => {
    const plain = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: bearer(org.secret),
        payload: { name: 'A' },
      })
    ).json();
    expect(plain.pii_policy).toBe('hash');

    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: bearer(org.secret),
      payload: { name: 'Strict', pii_policy: 'reject' },
    });
    expect(created.statusCode).toBe(201);
    const project = created.json();
    expect(project.pii_policy).toBe('reject');
    const pk = (await createKey(t.app, org, { type: 'publishable', project_id: project.id })).secret;

    const refused = await sendEvents(t.app, pk, [raw()]);
    expect(refused.accepted).toBe(0);
    expect(refused.rejected).toEqual([{ index: 0, code: 'pii_rejected', message: expect.any(String) }]);
    expect(refused.rejected[0]?.message).not.toContain('person@');

    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/projects/${project.id}`,
      headers: bearer(org.secret),
      payload: { pii_policy: 'hash' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Strict', pii_policy: 'hash' });
    // Every process honours the change once its cached policy (at most 5 s old) expires.
    clock.advance(5_001);
    expect(await sendEvents(t.app, pk, [raw()])).toMatchObject({ accepted: 1, rejected: [] });

    const audit = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/audit-log?resource_id=${project.id}`,
        headers: bearer(org.secret),
      })
    ).json();
    const actions = audit.data.map((e: { action: string; changes: unknown }) => [e.action, e.changes]);
    expect(actions).toContainEqual(['project.updated', { pii_policy: { before: 'reject', after: 'hash' } }]);
    expect(actions).toContainEqual([
      'project.created',
      { name: { after: 'Strict' }, pii_policy: { after: 'reject' } },
    ]);
  });

  it('refuses a policy that does not exist', async () => {
    const project = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: bearer(org.secret),
        payload: { name: 'B' },
      })
    ).json();
    for (const [method, url, payload] of [
      ['POST', '/v1/projects', { name: 'C', pii_policy: 'drop' }],
      ['PATCH', `/v1/projects/${project.id}`, { pii_policy: 'REJECT' }],
      ['PATCH', `/v1/projects/${project.id}`, { pii_policy: null }],
    ] as const) {
      expect(
        expectError(await t.app.inject({ method, url, headers: bearer(org.secret), payload }), 400).param,
      ).toBe('pii_policy');
    }
  });
});
