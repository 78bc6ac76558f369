import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createOrg, createTestApp, type TestApp } from '../helpers/test-app.ts';

describe('operations endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('healthz, readyz', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject('/readyz')).json()).toEqual({ status: 'ready' });
  });

  it('the OpenAPI document describes every route, with its auth scheme', async () => {
    const doc = (await t.app.inject('/openapi.json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops))
        documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    const hidden = new Set(['GET /openapi.json', 'GET /metrics']);
    for (const route of t.app.routeCatalog) {
      // CORS preflights are protocol plumbing, not API operations; the docs and the console's own
      // pages are HTML for people (the console's API under /console/api/ is documented).
      const consolePage =
        route.url === '/console' ||
        (route.url.startsWith('/console/') && !route.url.startsWith('/console/api/'));
      if (
        route.url.startsWith('/docs') ||
        consolePage ||
        route.method === 'OPTIONS' ||
        hidden.has(`${route.method} ${route.url}`)
      )
        continue;
      expect(documented.has(`${route.method} ${route.url}`), `${route.method} ${route.url}`).toBe(true);
    }
    expect(doc.paths['/v1/projects'].post.security).toEqual([{ apiKey: [] }]);
    expect(doc.paths['/admin/v1/orgs'].post.security).toEqual([{ operatorToken: [] }]);
    expect(doc.paths['/v1/projects'].post.responses['201']).toBeDefined();
  });

  it('serves the API docs page', async () => {
    const res = await t.app.inject('/docs/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
  });

  it('exposes Prometheus metrics labelled by route pattern only', async () => {
    const org = await createOrg(t.app);
    await t.app.inject({ method: 'GET', url: '/v1/projects/proj_doesnotexist', headers: bearer(org.secret) });
    const text = (await t.app.inject('/metrics')).body;
    expect(text).toContain('layers_http_requests_total');
    expect(text).toContain('route="/v1/projects/:projectId"');
    expect(text).not.toContain('proj_doesnotexist');
    expect(text).not.toContain(org.id);
  });

  it('answers unknown routes with the error shape and a Request-Id', async () => {
    const res = await t.app.inject('/v2/nothing');
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ type: 'not_found_error', code: 'route_not_found' });
    expect(res.headers['request-id']).toBe(res.json().error.request_id);
  });
});
