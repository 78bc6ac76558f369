import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
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
