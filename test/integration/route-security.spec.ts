import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSecurityWorld,
  defaultFixtures,
  type SecurityCase,
  securityCases,
} from '../helpers/route-security.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

describe('route security (every route in the catalog)', () => {
  let t: TestApp;
  let cases: SecurityCase[];
  beforeAll(async () => {
    t = await createTestApp();
    const world = await buildSecurityWorld(t, defaultFixtures);
    cases = securityCases(t, world, defaultFixtures);
  });
  afterAll(() => t.close());

  it('covers every authenticated route', () => {
    const authenticated = t.app.routeCatalog.filter((r) => r.auth !== 'none');
    expect(authenticated.length).toBeGreaterThan(15);
    for (const route of authenticated) {
      expect(
        cases.some((c) => c.route === route),
        `${route.method} ${route.url}`,
      ).toBe(true);
    }
    // Each route with path ids of another org is checked for 404.
    const withIds = authenticated.filter(
      (r) => r.auth === 'secret' && Object.keys(r.tenantParams).length > 0,
    );
    for (const route of withIds) {
      expect(
        cases.some((c) => c.route === route && c.check.includes('404')),
        `${route.method} ${route.url}`,
      ).toBe(true);
    }
  });

  it('answers every case as required', async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const { status, expected } = await c.run();
      if (status !== expected) failures.push(`${c.route.method} ${c.route.url}: ${c.check} (got ${status})`);
    }
    expect(failures).toEqual([]);
  });

  it('keeps the operator API off (404) when no operator token is configured', async () => {
    const noAdmin = await createTestApp({ env: { LAYERS_ADMIN_TOKEN: '' } });
    try {
      const res = await noAdmin.app.inject({
        method: 'POST',
        url: '/admin/v1/orgs',
        headers: { authorization: 'Bearer anything-at-all-here-123456' },
        payload: { name: 'x' },
      });
      expect(res.statusCode).toBe(404);
    } finally {
      await noAdmin.close();
    }
  });
});
