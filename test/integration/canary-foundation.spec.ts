import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * Canary strings in bodies, query strings, paths and headers (including the API key itself) must leave
 * no trace in the logs, the database or error responses — except where designed (key hashes are hashes).
 */
describe('canaries in partner API traffic', () => {
  let t: TestApp;
  let org: TestOrg;
  const canaries = {
    bodyField: 'canary-body-3b1f9e@example.com',
    queryValue: 'canary-query-8c2d77',
    pathSegment: 'canary-path-51aa0c',
    header: 'canary-header-9e4410',
    userAgent: 'canary-agent-02bd7f',
    idempotencyKey: 'canary-idem-6f0e2a',
    forwardedFor: '203.0.113.77',
  };
  const responses: string[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
    const project = await createProject(t.app, org);
    const headers = {
      ...bearer(org.secret),
      'x-canary': canaries.header,
      'user-agent': canaries.userAgent,
      'x-forwarded-for': canaries.forwardedFor,
    };
    const requests = [
      { method: 'POST', url: '/v1/projects', payload: { name: 'ok', unexpected: canaries.bodyField } },
      { method: 'POST', url: '/v1/projects', payload: { name: { nested: canaries.bodyField } } },
      {
        method: 'PATCH',
        url: `/v1/projects/${project.id}`,
        payload: { name: 'renamed', stray: canaries.bodyField },
      },
      { method: 'GET', url: `/v1/projects?limit=5&filter=${canaries.queryValue}` },
      { method: 'GET', url: `/v1/projects?starting_after=${canaries.queryValue}` },
      { method: 'GET', url: `/v1/projects/${canaries.pathSegment}` },
      { method: 'GET', url: `/v1/audit-log?action=${canaries.queryValue}` },
      {
        method: 'POST',
        url: '/v1/projects',
        payload: { name: 'idem' },
        extra: { 'idempotency-key': canaries.idempotencyKey },
      },
      { method: 'POST', url: '/v1/projects', payload: `{"name": "${canaries.bodyField}`, raw: true },
      { method: 'GET', url: `/nowhere/${canaries.pathSegment}?q=${canaries.queryValue}` },
    ] as const;
    for (const r of requests) {
      const res = await t.app.inject({
        method: r.method,
        url: r.url,
        headers: {
          ...headers,
          ...('extra' in r ? r.extra : {}),
          ...('raw' in r ? { 'content-type': 'application/json' } : {}),
        },
        ...('payload' in r ? { payload: r.payload as string | object } : {}),
      });
      responses.push(res.body);
    }
    // A canary shaped like an API key, with a valid prefix but a wrong checksum.
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/projects',
      headers: bearer(`lyr_sk_${'C'.repeat(27)}canary`),
    });
    responses.push(res.body);
    await t.container.requestLog.flush();
  });
  afterAll(() => t.close());

  it('leave no trace in logs, tables or error responses', async () => {
    const dump = await dumpDatabase(t.db.systemPool);
    const logs = t.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    expect(dump).toContain('request_log');
    for (const [name, value] of Object.entries(canaries)) {
      expect(logs.includes(value), `${name} in logs`).toBe(false);
      expect(dump.includes(value), `${name} in the database`).toBe(false);
      expect(
        responses.some((r) => r.includes(value)),
        `${name} in a response`,
      ).toBe(false);
    }
    expect(logs.includes(org.secret)).toBe(false);
    expect(dump.includes(org.secret)).toBe(false);
    expect(logs.includes('canary')).toBe(false);
    expect(dump.includes('canary')).toBe(false);
  });

  it('logs and the request log hold route patterns, never raw URLs', async () => {
    const { rows } = await t.db.systemPool.query('SELECT route FROM request_log');
    const routes = new Set(rows.map((r) => r.route));
    expect(routes).toContain('/v1/projects/:projectId');
    expect([...routes].some((r) => r.includes('proj_'))).toBe(false);
    expect(t.logs.join('')).toContain('"route":"/v1/projects/:projectId"');
  });
});
