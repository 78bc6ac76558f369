import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceDigest } from '../../console/source-digest.ts';
import { PARTNER_ROUTE_ROLES } from '../../src/modules/console-auth/console-permissions.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

describe('the console build and its routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('console/build is built from the current console sources (run npm run build -w console)', () => {
    const info = JSON.parse(readFileSync(path.join(REPO_ROOT, 'console/build/build-info.json'), 'utf8'));
    expect(info.source_sha256).toBe(sourceDigest(path.join(REPO_ROOT, 'console')));
  });

  it('serves the console at /console/ with a strict CSP, and /console redirects there', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<div id="root">');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'.*frame-ancestors 'none'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)?.[1] as string;
    const asset = await t.app.inject({ method: 'GET', url: script });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    const bare = await t.app.inject({ method: 'GET', url: '/console' });
    expect(bare.statusCode).toBe(302);
    expect(bare.headers.location).toBe('/console/');
  });

  it('every partner route the console may call exists, and takes a secret key', () => {
    const routes = new Map(t.app.routeCatalog.map((r) => [`${r.method} ${r.url}`, r.auth]));
    for (const entry of Object.keys(PARTNER_ROUTE_ROLES)) expect(routes.get(entry), entry).toBe('secret');
  });

  it('console answers are not cached', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/console/api/session' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
