import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { totpCode } from '../../src/modules/console-auth/console-totp.ts';
import { databaseUrl, runCli } from '../helpers/cli.ts';
import { consoleCall, member, STRONG_PASSWORD, sessionCookieOf, signUp } from '../helpers/console-session.ts';
import { createOrg, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

const clock = fixedClock(new Date('2026-12-01T09:00:00.000Z'));

describe('console members, invitations, org-required MFA, the CLI and the sweeper', () => {
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await createTestApp({ clock });
    org = await createOrg(t.app, 'Acme');
  });
  afterAll(() => t.close());

  it('`layers user invite` prints a one-time link that signs up the invited owner', async () => {
    const env = {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
    };
    const res = await runCli(
      ['user', 'invite', '--org', org.id, '--email', 'first.owner@acme.example', '--json'],
      env,
    );
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ role: 'owner', email: 'first.owner@acme.example' });
    expect(out.url).toMatch(/\/console\/#\/invitation\/[A-Za-z0-9_-]{43}$/);
    expect(res.stderr).not.toContain('first.owner@acme.example');
    const owner = await signUp(t.app, out.url.split('/invitation/')[1]);
    const me = await consoleCall(t.app, owner, 'GET', '/console/api/session');
    expect(me.json().account).toMatchObject({ role: 'owner', email: 'first.owner@acme.example' });
    const bad = await runCli(
      ['user', 'invite', '--org', org.id, '--email', 'x@acme.example', '--role', 'god'],
      env,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/--role must be/);
  });

  it('admins invite and manage everyone but owners; the last owner stays', async () => {
    const owner = await member(t, org.id, 'owner2@acme.example', 'owner');
    const admin = await member(t, org.id, 'admin@acme.example', 'admin');
    const toOwner = await consoleCall(t.app, admin, 'POST', '/console/api/invitations', {
      email: 'boss@acme.example',
      role: 'owner',
    });
    expect(toOwner.statusCode).toBe(403);
    const inv = await consoleCall(t.app, admin, 'POST', '/console/api/invitations', {
      email: 'dev2@acme.example',
      role: 'developer',
    });
    expect(inv.statusCode).toBe(201);
    expect(inv.json().url).toContain('/console/#/invitation/');
    const listed = await consoleCall(t.app, admin, 'GET', '/console/api/invitations');
    expect(listed.json().data.map((i: { email: string }) => i.email)).toContain('dev2@acme.example');
    expect(
      (await consoleCall(t.app, admin, 'DELETE', `/console/api/invitations/${inv.json().id}`)).statusCode,
    ).toBe(200);
    const used = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-up',
      payload: { token: inv.json().url.split('/invitation/')[1], password: STRONG_PASSWORD },
    });
    expect(used.statusCode).toBe(404);

    const members = (await consoleCall(t.app, admin, 'GET', '/console/api/members')).json().data as {
      id: string;
      role: string;
    }[];
    const anOwner = members.find((m) => m.role === 'owner') as { id: string };
    expect(
      (await consoleCall(t.app, admin, 'PATCH', `/console/api/members/${anOwner.id}`, { role: 'viewer' }))
        .statusCode,
    ).toBe(403);
    expect((await consoleCall(t.app, admin, 'DELETE', `/console/api/members/${anOwner.id}`)).statusCode).toBe(
      403,
    );
    // The owner demotes the admin to viewer: the change applies to the admin's very next call.
    expect(
      (
        await consoleCall(t.app, owner, 'PATCH', `/console/api/members/${admin.accountId}`, {
          role: 'viewer',
        })
      ).statusCode,
    ).toBe(200);
    expect((await consoleCall(t.app, admin, 'GET', '/console/api/invitations')).statusCode).toBe(403);
    // An admin (here the owner) ends a member's sessions; the member signs in again.
    const ended = await consoleCall(
      t.app,
      owner,
      'POST',
      `/console/api/members/${admin.accountId}/end-sessions`,
    );
    expect(ended.json()).toMatchObject({ ended: 1 });
    expect((await consoleCall(t.app, admin, 'GET', '/console/api/session')).statusCode).toBe(401);
    const again = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'admin@acme.example', password: STRONG_PASSWORD },
    });
    Object.assign(admin, { cookie: sessionCookieOf(again), csrf: again.json().csrf_token });
    // Removing a member ends their sessions at once.
    expect(
      (await consoleCall(t.app, owner, 'DELETE', `/console/api/members/${admin.accountId}`)).statusCode,
    ).toBe(200);
    expect((await consoleCall(t.app, admin, 'GET', '/console/api/session')).statusCode).toBe(401);

    const lone = await createOrg(t.app, 'Lone');
    const soleOwner = await member(t, lone.id, 'sole@lone.example', 'owner');
    const demote = await consoleCall(
      t.app,
      soleOwner,
      'PATCH',
      `/console/api/members/${soleOwner.accountId}`,
      { role: 'admin' },
    );
    expect(demote.statusCode).toBe(400);
    // Another org's member id is not found.
    const foreign = await consoleCall(t.app, soleOwner, 'DELETE', `/console/api/members/${owner.accountId}`);
    expect(foreign.statusCode).toBe(404);
  });

  it('an owner can require MFA: members without it can only enrol, then everything opens', async () => {
    const owner = await member(t, org.id, 'owner3@acme.example', 'owner');
    const dev = await member(t, org.id, 'dev3@acme.example', 'developer');
    expect(
      (await consoleCall(t.app, dev, 'PATCH', '/console/api/settings', { mfa_required: true })).statusCode,
    ).toBe(403);
    const early = await consoleCall(t.app, owner, 'PATCH', '/console/api/settings', { mfa_required: true });
    expect(early.statusCode).toBe(400);
    expect(early.json().error.message).toMatch(/your own account first/);
    const ownerSetup = await consoleCall(t.app, owner, 'POST', '/console/api/me/mfa/setup', {
      password: STRONG_PASSWORD,
    });
    const ownerCode = await totpCode(ownerSetup.json().secret, clock.now());
    expect(
      (await consoleCall(t.app, owner, 'POST', '/console/api/me/mfa/confirm', { code: ownerCode }))
        .statusCode,
    ).toBe(200);
    expect(
      (await consoleCall(t.app, owner, 'PATCH', '/console/api/settings', { mfa_required: true })).statusCode,
    ).toBe(200);
    const blocked = await consoleCall(t.app, dev, 'GET', '/v1/projects');
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().error.code).toBe('mfa_enrolment_required');
    expect((await consoleCall(t.app, dev, 'GET', '/console/api/session')).json().account.mfa_pending).toBe(
      true,
    );
    const setup = await consoleCall(t.app, dev, 'POST', '/console/api/me/mfa/setup', {
      password: STRONG_PASSWORD,
    });
    const code = await totpCode(setup.json().secret, clock.now());
    expect((await consoleCall(t.app, dev, 'POST', '/console/api/me/mfa/confirm', { code })).statusCode).toBe(
      200,
    );
    expect((await consoleCall(t.app, dev, 'GET', '/v1/projects')).statusCode).toBe(200);
    clock.advance(30_000);
    const off = await consoleCall(t.app, dev, 'POST', '/console/api/me/mfa/disable', {
      password: STRONG_PASSWORD,
      code: await totpCode(setup.json().secret, clock.now()),
    });
    expect(off.statusCode).toBe(400);
    expect(off.json().error.message).toMatch(/requires two-factor/);
    expect(
      (await consoleCall(t.app, owner, 'PATCH', '/console/api/settings', { mfa_required: false })).statusCode,
    ).toBe(200);
  });

  it('re-authentication guards email and password changes; a new password ends the other sessions', async () => {
    const c = await member(t, org.id, 'reauth@acme.example', 'viewer');
    const other = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'reauth@acme.example', password: STRONG_PASSWORD },
    });
    expect(other.statusCode).toBe(200);
    const noPw = await consoleCall(t.app, c, 'POST', '/console/api/me/email', {
      password: 'wrong password here',
      new_email: 'new@acme.example',
    });
    expect(noPw.statusCode, noPw.body).toBe(401);
    const email = await consoleCall(t.app, c, 'POST', '/console/api/me/email', {
      password: STRONG_PASSWORD,
      new_email: 'renamed@acme.example',
    });
    expect(email.statusCode).toBe(200);
    const weak = await consoleCall(t.app, c, 'POST', '/console/api/me/password', {
      password: STRONG_PASSWORD,
      new_password: 'qwerty123456',
    });
    expect(weak.statusCode).toBe(400);
    const changed = await consoleCall(t.app, c, 'POST', '/console/api/me/password', {
      password: STRONG_PASSWORD,
      new_password: 'a brand new passphrase 7',
    });
    expect(changed.json()).toEqual({ other_sessions_ended: 1 });
    expect((await consoleCall(t.app, c, 'GET', '/console/api/session')).statusCode).toBe(200);
    const oldPw = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'renamed@acme.example', password: STRONG_PASSWORD },
    });
    expect(oldPw.statusCode).toBe(401);
    const newPw = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'renamed@acme.example', password: 'a brand new passphrase 7' },
    });
    expect(newPw.statusCode).toBe(200);
  });

  it('the retention sweeper purges expired sessions and invitations, never live accounts', async () => {
    const c = await member(t, org.id, 'sweep@acme.example', 'viewer');
    await consoleCall(t.app, c, 'GET', '/console/api/session');
    clock.advance(13 * 3_600_000);
    await t.container.retentionSweeper.sweep();
    const { rows } = await sql<{ n: number; t: string }>`
      SELECT 'sessions' AS t, count(*)::int AS n FROM console_sessions WHERE expires_at <= ${clock.now()}
      UNION ALL SELECT 'invitations', count(*)::int FROM console_invitations WHERE expires_at <= ${clock.now()}
      UNION ALL SELECT 'accounts', count(*)::int FROM console_accounts WHERE id = ${c.accountId}`.execute(
      t.db.system,
    );
    expect(Object.fromEntries(rows.map((r) => [r.t, r.n]))).toEqual({
      sessions: 0,
      invitations: 0,
      accounts: 1,
    });
  });
});
