import type { RouteEntry } from '../../src/http/route-catalog.ts';
import { newId } from '../../src/lib/ids.ts';
import { identifyEvent, sendEvents } from './sdk-events.ts';
import {
  ADMIN_TOKEN,
  bearer,
  createKey,
  createOrg,
  createProject,
  type TestApp,
  type TestOrg,
} from './test-app.ts';

/**
 * The shared route-security suite. For every route in the app's route catalog it checks: no key → 401,
 * malformed key → 401, valid-looking key with a bad checksum → 401, revoked key → 401, a publishable key
 * on a partner route → 403, the operator token required on operator routes, and — for every path id —
 * another org's id → 404. A route whose path names a resource kind without a fixture here, or whose
 * body has no sample, fails loudly: new routes are covered by default.
 */
export type SecurityFixtures = {
  /** Creates a resource of this kind in `org` (given the ids made before it) and returns its id. */
  resources: Record<string, (t: TestApp, org: TestOrg, made: Map<string, string>) => Promise<string>>;
  /** A valid body per `METHOD url`, so that 404 (not 400) is what another org's id yields. */
  bodies: Record<string, unknown>;
};

const DESTINATION_BODY = {
  type: 'meta_capi',
  pixel_id: '1234567890',
  access_token: 'EAA-route-security-token',
  event_map: { purchase: 'Purchase' },
  enabled: true,
};

export const defaultFixtures: SecurityFixtures = {
  resources: {
    project: async (t, org) => (await createProject(t.app, org)).id,
    apiKey: async (t, org) => (await createKey(t.app, org, { type: 'secret' })).id,
    webhook: async (t, org) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(org.secret),
        payload: { url: 'https://hooks.example.com/layers', events: ['*'] },
      });
      return res.json().id;
    },
    // A delivery of the webhook made above (a test event; no worker runs here, so it stays pending).
    webhookDelivery: async (t, org, made) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${made.get('webhook')}/test`,
        headers: bearer(org.secret),
      });
      return res.json().id;
    },
    // A user exists once an event names it: identify one in the project made above.
    user: async (t, org, made) => {
      const projectId = made.get('project') as string;
      const key = await createKey(t.app, org, { type: 'publishable', project_id: projectId });
      await sendEvents(t.app, key.secret, [identifyEvent('u_security', {})]);
      return 'u_security';
    },
    // An erasure request (its job never runs here: there is no worker in this test).
    dsr: async (t, org, made) => {
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/v1/projects/${made.get('project')}/events/users/u_security_dsr`,
        headers: bearer(org.secret),
      });
      return res.json().id;
    },
    // A generation that stays queued (no worker here), and media from one run with images only.
    generation: async (t, org, made) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/projects/${made.get('project')}/generations`,
        headers: bearer(org.secret),
        payload: { brief: { product: 'Security fixture' }, outputs: ['copy'] },
      });
      return res.json().id;
    },
    media: async (t, org, made) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/projects/${made.get('project')}/generations`,
        headers: bearer(org.secret),
        payload: { brief: { product: 'Security media' }, outputs: ['copy', 'image'] },
      });
      await t.container.generations.run(org.id, res.json().id, 1);
      const list = await t.app.inject({
        method: 'GET',
        url: `/v1/projects/${made.get('project')}/media`,
        headers: bearer(org.secret),
      });
      return list.json().data[0].id;
    },
    // A Conversions API destination of the project made above.
    destination: async (t, org, made) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/projects/${made.get('project')}/destinations`,
        headers: bearer(org.secret),
        payload: DESTINATION_BODY,
      });
      return res.json().id;
    },
    // A social account of the project made above (inserted as a connect flow would leave it, without tokens).
    socialAccount: async (t, org, made) => {
      const id = newId('socialAccount');
      await t.db.systemPool.query(
        `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, status, connected_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'tiktok', 'open_security', 'active', now(), now(), now())`,
        [id, org.id, made.get('project')],
      );
      return id;
    },
    // An ad deployment of the project made above, as the API leaves it (queued; no worker runs here).
    adDeployment: async (t, org, made) => {
      const id = newId('adDeployment');
      await t.db.systemPool.query(
        `INSERT INTO ad_deployments (id, org_id, project_id, platform, social_account_id, ad_account_id, media_id, headline, body, daily_budget_cents, countries, status, created_at, updated_at)
         VALUES ($1, $2, $3, 'meta', $4, '1234', $5, 'Headline', 'Body', 1000, '{US}', 'failed', now(), now())`,
        [id, org.id, made.get('project'), made.get('socialAccount'), made.get('media')],
      );
      return id;
    },
    // A publication of the social account made above, as the API leaves it (queued; no worker runs here).
    publication: async (t, org, made) => {
      const id = newId('publication');
      await t.db.systemPool.query(
        `INSERT INTO publications (id, org_id, project_id, social_account_id, platform, media_id, caption, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'tiktok', $5, 'Caption', 'queued', now(), now())`,
        [id, org.id, made.get('project'), made.get('socialAccount'), made.get('media')],
      );
      return id;
    },
    dpaRequest: async (t, org) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/dpa-requests',
        headers: bearer(org.secret),
        payload: { signatory_entity: 'Org A Ltd', countries_of_processing: ['DE'], governing_law: 'Ireland' },
      });
      return res.json().id;
    },
  },
  bodies: {
    'PATCH /v1/projects/:projectId': { name: 'renamed' },
    'PATCH /v1/webhooks/:webhookId': { description: 'changed' },
    'POST /v1/webhooks/:webhookId/rotate-secret': {},
    'POST /v1/webhooks/:webhookId/test': {},
    'POST /v1/webhooks/:webhookId/deliveries/:deliveryId/retry': {},
    'POST /v1/projects/:projectId/users/lookup': { email: 'someone@example.com' },
    'POST /v1/projects/:projectId/destinations': DESTINATION_BODY,
    'PATCH /v1/destinations/:destinationId': { enabled: false },
    'POST /v1/projects/:projectId/generations': { brief: { product: 'Other org' }, outputs: ['copy'] },
    'POST /v1/projects/:projectId/ad-deployments': {
      platform: 'meta',
      social_account_id: 'sa_00000000000000000000000000',
      ad_account_id: 'act_1234',
      media_id: 'med_00000000000000000000000000',
      headline: 'Headline',
      body: 'Body',
      daily_budget_cents: 1000,
      status: 'paused',
    },
    'POST /v1/ad-deployments/:adDeploymentId/retry': {},
    'POST /v1/ad-deployments/:adDeploymentId/cancel': {},
    'POST /v1/social-accounts/:socialAccountId/publications': {
      media_id: 'med_00000000000000000000000000',
      caption: 'Caption',
    },
    'POST /v1/projects/:projectId/social-accounts/connect': {
      platform: 'tiktok',
      return_url: 'https://app.example.com/done',
    },
  },
};

export type SecurityCase = {
  route: RouteEntry;
  check: string;
  run: () => Promise<{ status: number; expected: number }>;
};

export type SecurityWorld = {
  orgA: TestOrg;
  orgB: TestOrg;
  revokedKey: string;
  publishableKey: string;
  badChecksumKey: string;
  idsOfA: Map<string, string>;
};

export async function buildSecurityWorld(t: TestApp, fixtures: SecurityFixtures): Promise<SecurityWorld> {
  const orgA = await createOrg(t.app, 'Org A');
  const orgB = await createOrg(t.app, 'Org B');
  const revoked = await createKey(t.app, orgB, { type: 'secret' });
  await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${revoked.id}`, headers: bearer(orgB.secret) });
  const projectB = await createProject(t.app, orgB);
  const publishable = await createKey(t.app, orgB, { type: 'publishable', project_id: projectB.id });
  const last = orgB.secret.at(-1) === 'A' ? 'B' : 'A';
  const idsOfA = new Map<string, string>();
  for (const [kind, create] of Object.entries(fixtures.resources))
    idsOfA.set(kind, await create(t, orgA, idsOfA));
  return {
    orgA,
    orgB,
    revokedKey: revoked.secret,
    publishableKey: publishable.secret,
    badChecksumKey: orgB.secret.slice(0, -1) + last,
    idsOfA,
  };
}

function fillPath(route: RouteEntry, world: SecurityWorld): string {
  return route.url.replace(/:(\w+)/g, (_m, name: string) => {
    const kind = route.tenantParams[name];
    if (kind === undefined) return `unknown_${name}`;
    const id = world.idsOfA.get(kind);
    if (!id)
      throw new Error(
        `route-security: no fixture creates a '${kind}' (param :${name} of ${route.method} ${route.url})`,
      );
    return id;
  });
}

export function securityCases(t: TestApp, world: SecurityWorld, fixtures: SecurityFixtures): SecurityCase[] {
  const cases: SecurityCase[] = [];
  for (const route of t.app.routeCatalog) {
    if (route.auth === 'none') continue;
    const routeKey = `${route.method} ${route.url}`;
    const hasBody = ['POST', 'PATCH', 'PUT'].includes(route.method);
    const url = fillPath(route, world);
    const send = (headers: Record<string, string>, body: unknown = hasBody ? {} : undefined) =>
      t.app.inject({
        method: route.method as 'GET',
        url,
        headers,
        ...(body === undefined ? {} : { payload: body as object }),
      });
    const expectStatus = (check: string, expected: number, headers: Record<string, string>, body?: unknown) =>
      cases.push({
        route,
        check,
        run: async () => ({ status: (await send(headers, body)).statusCode, expected }),
      });

    expectStatus('no credentials → 401', 401, {});
    expectStatus('malformed key → 401', 401, bearer('lyr_sk_not-a-key'));
    expectStatus('bad checksum → 401', 401, bearer(world.badChecksumKey));
    if (route.auth === 'admin') {
      expectStatus('partner key on operator route → 401', 401, bearer(world.orgB.secret));
      continue;
    }
    expectStatus('revoked key → 401', 401, bearer(world.revokedKey));
    if (route.auth === 'secret') expectStatus('publishable key → 403', 403, bearer(world.publishableKey));
    if (route.auth === 'publishable')
      expectStatus('secret key on SDK route → 403', 403, bearer(world.orgB.secret));
    if (Object.keys(route.tenantParams).length > 0 && route.auth === 'secret') {
      const sample = hasBody ? fixtures.bodies[routeKey] : undefined;
      if (hasBody && sample === undefined) {
        cases.push({
          route,
          check: 'has a sample body',
          run: async () => {
            throw new Error(`route-security: add a sample body for ${routeKey}`);
          },
        });
        continue;
      }
      expectStatus("another org's id → 404", 404, bearer(world.orgB.secret), sample);
    }
  }
  return cases;
}

export { ADMIN_TOKEN };
