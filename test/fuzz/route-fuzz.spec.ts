import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { buildFuzzWorld, type FuzzWorld } from './fuzz-world.ts';
import { type FuzzSummary, formatFindings, fuzzRoutes } from './route-fuzz.ts';

/**
 * The property-based fuzz of every route in the route catalog (see route-fuzz.ts for what it checks).
 * In `npm test` it sends a bounded number of requests per route with a fixed seed (the same requests
 * every run); `npm run fuzz` (FUZZ_LONG=1) sends 1,000 per route with a fresh seed, printed so that
 * a finding can be replayed. FUZZ_RUNS (requests per route) and FUZZ_SEED override both.
 */
const LONG = process.env.FUZZ_LONG === '1';
const RUNS = Number(process.env.FUZZ_RUNS ?? (LONG ? 1000 : 100));
const SEED = Number(process.env.FUZZ_SEED ?? (LONG ? Date.now() % 2 ** 31 : 20261201));

/**
 * Routes whose success needs what no draw may have: a fresh one-time TOTP code (enrolment
 * confirmation, turning MFA off, new recovery codes) or the end of the account the run acts with
 * (deleting it). They are fuzzed at their door here and proven in test/integration/console-*.spec.ts.
 */
const NEEDS_WHAT_NO_DRAW_HAS = new Set([
  'POST /console/api/me/mfa/confirm',
  'POST /console/api/me/mfa/disable',
  'POST /console/api/me/recovery-codes',
  'POST /console/api/me/delete',
  // Re-authentication with the account's current password (and a TOTP code once MFA is on), which
  // random draws rarely make: a long run with a fresh seed can miss it. Proven in console-members.spec.ts.
  'POST /console/api/me/email',
  // A one-time OAuth state a connect issued and the platform's code for it; a platform's own
  // signature (Meta signed_request, TikTok-Signature) or a confirmation code it was given. Proven in
  // test/integration/social-*.spec.ts.
  'GET /v1/oauth/callback/:platform',
  'POST /v1/platform-callbacks/meta/deauthorize',
  'POST /v1/platform-callbacks/meta/data-deletion',
  'GET /v1/platform-callbacks/meta/data-deletion/:code',
  'POST /v1/platform-callbacks/tiktok',
  // A media URL's own signature (HMAC of id and expiry with a server key). Proven in
  // test/integration/generation-default.spec.ts (valid, expired, tampered, another media's).
  'GET /media/:mediaId',
  // A connected Facebook Page granted ads_management and a generated video of the same project, which
  // the shared fixtures do not make (a TikTok account without scopes, an image). Proven in
  // test/integration/ads-meta.spec.ts.
  'POST /v1/projects/:projectId/ad-deployments',
  // A connected account granted the platform's publishing scope and a generated video of its
  // project (the shared account has no scopes, the shared media is an image). Proven in
  // test/integration/publishing-core.spec.ts and publishing-<platform>.spec.ts.
  'POST /v1/social-accounts/:socialAccountId/publications',
]);

describe('route fuzz (every route in the catalog, two orgs, hostile input)', () => {
  let t: TestApp;
  let world: FuzzWorld;
  let summary: FuzzSummary;
  beforeAll(async () => {
    t = await createTestApp({
      // Rate limits are tested elsewhere; here they would turn most of the run into 429s.
      env: {
        ...Object.fromEntries(
          ['SECRET', 'PUBLISHABLE', 'ORG_SECRET', 'ORG_PUBLISHABLE'].map((k) => [
            `LAYERS_RATE_LIMIT_${k}_PER_S`,
            '1000000',
          ]),
        ),
        // A configured social platform, so that connect flows can start (nothing is called: the
        // browser would go to the platform next).
        TIKTOK_CLIENT_KEY: 'fuzz-client-key',
        TIKTOK_CLIENT_SECRET: 'fuzz-client-secret',
      },
    });
    world = await buildFuzzWorld(t);
  });
  afterAll(() => t.close());

  it(
    'answers every request below 500, in the error contract, and never with the other org’s data',
    async () => {
      summary = await fuzzRoutes(t, world, { runsPerRoute: RUNS, seed: SEED });
      const findings = formatFindings(summary.findings);
      if (LONG) {
        for (const [route, statuses] of Object.entries(summary.statuses))
          console.log(`  ${route.padEnd(64)} ${JSON.stringify(statuses)}`);
        for (const finding of findings) console.log(finding);
      }
      console.log(
        `route fuzz: ${summary.requests} requests sent, ${summary.routes} routes covered, ` +
          `${summary.fiveXx} responses ≥ 500, ${findings.length} distinct findings (seed ${SEED}, ${RUNS} per route)`,
      );
      expect(findings).toEqual([]);
    },
    Math.max(120_000, RUNS * 5_000),
  );

  it('covered every route of the catalog, and reached past validation on most', () => {
    expect(summary.routes).toBe(t.app.routeCatalog.length);
    const unreached = Object.entries(summary.statuses)
      .filter(([route]) => !NEEDS_WHAT_NO_DRAW_HAS.has(route))
      .filter(([, statuses]) => Object.keys(statuses).every((s) => Number(s) >= 400))
      .map(([route]) => route);
    // A route that never answers below 400 is fuzzed only at its door: the fixture or the
    // generators miss something it needs.
    expect(unreached.map((route) => `${route} ${JSON.stringify(summary.statuses[route])}`)).toEqual([]);
  });
});
