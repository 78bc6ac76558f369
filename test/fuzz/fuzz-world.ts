import { withTenant } from '../../src/db/tenant-transaction.ts';
import { inviteToken, STRONG_PASSWORD, signUp } from '../helpers/console-session.ts';
import { defaultFixtures } from '../helpers/route-security.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import {
  ADMIN_TOKEN,
  bearer,
  createKey,
  createOrg,
  createProject,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * The world the route fuzz runs in: two orgs, each with real objects of every kind a route's path can
 * name (made by the route-security suite's own fixtures, so a new kind is added in one place), plus
 * users with events, a spare org for the operator routes, and a register of which org owns each id and
 * secret, learnt from every response an org's key receives. The fuzz then checks that no response to
 * one org holds anything the other owns.
 */
export type Actor = 'A' | 'B';
export const other = (actor: Actor): Actor => (actor === 'A' ? 'B' : 'A');

export type OrgWorld = {
  org: TestOrg;
  /** Ids per resource kind (route-security's kinds, plus `org`). */
  ids: Record<string, string[]>;
  /** Ids that DELETE and PATCH must not touch (the key, project and webhook the fuzz acts with). */
  protected: Set<string>;
  publishableKey: string;
  revokedKey: string;
  /**
   * A user only this org's requests ever name, with an email only it sent: the other org's lookups
   * may ask for the email, but no answer to the other org may ever hold this user id.
   */
  privateUser: { userId: string; email: string };
  /**
   * The org's console: an owner's session (cookie and CSRF token) the run acts with, its email and
   * password (so sign-in and re-authentication can succeed), unused invitation tokens (so sign-up and
   * the invitation lookup can), and spare sessions the session routes may end.
   */
  console: {
    cookie: string;
    csrf: string;
    email: string;
    password: string;
    invitationTokens: string[];
  };
};

export type FuzzWorld = {
  orgs: Record<Actor, OrgWorld>;
  /** Orgs the operator routes may change (never A or B); only the first may be offboarded. */
  spareOrgIds: string[];
  owners: OwnerRegister;
};

/** Ids, keys and webhook secrets; every other token shape is left alone. */
export const TOKEN =
  /[a-z]{2,5}_[0-9a-hjkmnp-tv-z]{26}|lyr_(?:sk|pk)_[0-9A-Za-z]{33}|whsec_[A-Za-z0-9+/]{43}=/g;

export type OwnerRegister = {
  /** Records every token of `text` not owned yet as `actor`'s. */
  learn(text: string, actor: Actor): void;
  /** A string an org owns outright (a key it was given). */
  own(text: string, actor: Actor): void;
  /** Owned strings of `actor` found in `text`. */
  ownedIn(text: string, actor: Actor): string[];
  size(): number;
};

export function createOwnerRegister(): OwnerRegister {
  const tokens = new Map<string, Actor>();
  const strings: Record<Actor, string[]> = { A: [], B: [] };
  return {
    learn(text, actor) {
      for (const token of text.match(TOKEN) ?? []) if (!tokens.has(token)) tokens.set(token, actor);
    },
    own(text, actor) {
      strings[actor].push(text);
      tokens.set(text, actor);
    },
    ownedIn(text, actor) {
      const found = (text.match(TOKEN) ?? []).filter((token) => tokens.get(token) === actor);
      for (const s of strings[actor]) if (text.includes(s)) found.push(s);
      return [...new Set(found)];
    },
    size: () => tokens.size,
  };
}

const USERS_PER_ORG = 6;
/** Users erased with suppression in the fixture, so that lifting a suppression can succeed. */
const SUPPRESSED = 4;

async function buildOrg(t: TestApp, name: string, tag: string, owners: OwnerRegister, actor: Actor) {
  const org = await createOrg(t.app, name);
  const made = new Map<string, string>();
  const ids: Record<string, string[]> = { org: [org.id] };
  for (const [kind, create] of Object.entries(defaultFixtures.resources)) {
    const id = await create(t, org, made);
    made.set(kind, id);
    ids[kind] = [id];
  }
  // A second object of the kinds mutating routes delete, so that deleting one leaves another.
  const spareProject = await createProject(t.app, org, 'Spare');
  ids.project?.push(spareProject.id);
  const spareKey = await createKey(t.app, org, { type: 'secret' });
  ids.apiKey?.push(spareKey.id);
  const spareWebhook = await t.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: bearer(org.secret),
    payload: { url: 'https://hooks.example.com/spare', events: ['*'] },
  });
  ids.webhook?.push(spareWebhook.json().id);
  const spareDestination = await t.app.inject({
    method: 'POST',
    url: `/v1/projects/${made.get('project')}/destinations`,
    headers: bearer(org.secret),
    payload: {
      type: 'tiktok_events',
      event_source_id: '7568899277611696136',
      access_token: 'spare-destination-token',
      event_map: { purchase: 'CompletePayment' },
      enabled: false,
    },
  });
  ids.destination?.push(spareDestination.json().id);
  const projectId = made.get('project') as string;
  const publishable = await createKey(t.app, org, { type: 'publishable', project_id: projectId });
  const revoked = await createKey(t.app, org, { type: 'secret' });
  await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${revoked.id}`, headers: bearer(org.secret) });
  const users = Array.from({ length: USERS_PER_ORG }, (_, i) => `u_fuzz_${tag}_${i}`);
  const privateUser = { userId: `u_private_${tag}`, email: `private-${tag}@example.com` };
  const events = [...users, privateUser.userId].flatMap((u) => [
    identifyEvent(u, {
      email: u === privateUser.userId ? privateUser.email : `${u}@example.com`,
      plan: 'pro',
    }),
    trackEvent(u, 'purchase', { price: 9.99 }),
  ]);
  owners.own(privateUser.userId, actor);
  await sendEvents(t.app, publishable.secret, events);
  ids.user?.push(...users);
  for (const u of users.slice(-SUPPRESSED)) {
    const erasure = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/${u}?suppress=true`,
      headers: bearer(org.secret),
    });
    await t.container.erasure.run(org.id, erasure.json().id);
    ids.dsr?.push(erasure.json().id);
  }
  for (const secret of [org.secret, publishable.secret, revoked.secret, spareKey.secret])
    owners.own(secret, actor);
  // Whatever the org can list is its own: learn every id its key can see.
  for (const url of [
    '/v1/projects?limit=100',
    '/v1/api-keys?limit=100',
    '/v1/webhooks?limit=100',
    '/v1/audit-log?limit=100',
    '/v1/dpa-requests?limit=100',
    `/v1/data-subject-requests/${made.get('dsr')}`,
    `/v1/webhooks/${made.get('webhook')}/deliveries`,
    ...users.map((u) => `/v1/projects/${projectId}/events/users/${u}`),
  ]) {
    const res = await t.app.inject({ method: 'GET', url, headers: bearer(org.secret) });
    owners.learn(res.body, actor);
  }
  const consoleWorld = await buildConsole(t, org, tag, owners, actor, ids);
  owners.learn(JSON.stringify(ids), actor);
  return {
    org,
    ids,
    protected: new Set([
      org.keyId,
      projectId,
      org.id,
      made.get('webhook') as string,
      made.get('destination') as string,
      consoleWorld.sessionId,
      consoleWorld.accountId,
    ]),
    publishableKey: publishable.secret,
    revokedKey: revoked.secret,
    privateUser,
    console: consoleWorld.console,
  } satisfies OrgWorld;
}

const SPARE_SESSIONS = 8;

/** The org's console: an owner, a viewer to manage, open invitations and spare sessions. */
async function buildConsole(
  t: TestApp,
  org: TestOrg,
  tag: string,
  owners: OwnerRegister,
  actor: Actor,
  ids: Record<string, string[]>,
) {
  const email = `console-owner-${tag}@example.com`;
  const owner = await signUp(t.app, await inviteToken(t, org.id, email, 'owner'), STRONG_PASSWORD);
  const viewer = await signUp(
    t.app,
    await inviteToken(t, org.id, `console-viewer-${tag}@example.com`, 'viewer'),
  );
  const invitationTokens: string[] = [];
  ids.invitation = [];
  for (let i = 0; i < 8; i++) {
    const inv = await t.container.consoleAuth.members.inviteAsOperator(org.id, {
      email: `console-invitee-${tag}-${i}@example.com`,
      role: 'developer',
    });
    invitationTokens.push(inv.url.split('/invitation/')[1] as string);
    ids.invitation.push(inv.id);
  }
  // Spare sessions of the owner (made without the scrypt of a sign-in): what session routes may end.
  ids.session = [];
  for (let i = 0; i < SPARE_SESSIONS; i++) {
    const spare = await withTenant(t.db.app, org.id, (tx) =>
      t.container.consoleAuth.signIn.createSession(
        { tx, orgId: org.id, actor: { type: 'user', id: owner.accountId }, requestId: null, now: new Date() },
        { id: owner.accountId, role: 'owner', totp: false },
        { address: '127.0.0.1', userAgent: 'fuzz' },
      ),
    );
    ids.session.push(spare.session.sessionId);
    owners.own(spare.token, actor);
  }
  ids.member = [viewer.accountId];
  const session = await t.app.inject({
    method: 'GET',
    url: '/console/api/session',
    headers: { cookie: owner.cookie },
  });
  const sessionId = session.json().account.session_id as string;
  for (const secret of [
    owner.cookie.split('=')[1] as string,
    owner.csrf,
    viewer.cookie.split('=')[1] as string,
  ])
    owners.own(secret, actor);
  for (const text of [email, owner.accountId, viewer.accountId, sessionId, ...invitationTokens])
    owners.own(text, actor);
  for (const url of ['/console/api/members', '/console/api/invitations', '/console/api/me/sessions']) {
    const res = await t.app.inject({ method: 'GET', url, headers: { cookie: owner.cookie } });
    owners.learn(res.body, actor);
  }
  return {
    sessionId,
    accountId: owner.accountId,
    console: { cookie: owner.cookie, csrf: owner.csrf, email, password: STRONG_PASSWORD, invitationTokens },
  };
}

export async function buildFuzzWorld(t: TestApp): Promise<FuzzWorld> {
  const owners = createOwnerRegister();
  const a = await buildOrg(t, 'Fuzz Org A', 'a', owners, 'A');
  const b = await buildOrg(t, 'Fuzz Org B', 'b', owners, 'B');
  const spare = [await createOrg(t.app, 'Spare 1'), await createOrg(t.app, 'Spare 2', 'partner')];
  return { orgs: { A: a, B: b }, spareOrgIds: spare.map((o) => o.id), owners };
}

export { ADMIN_TOKEN };
