import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { createConsoleSignInService } from '../../src/modules/console-auth/console-sign-in-service.ts';
import { totpCode } from '../../src/modules/console-auth/console-totp.ts';
import { parsePasswordHash } from '../../src/modules/console-auth/password-hasher.ts';
import { commonPasswordCount, passwordProblem } from '../../src/modules/console-auth/password-policy.ts';
import {
  consoleCall,
  inviteToken,
  member,
  STRONG_PASSWORD,
  sessionCookieOf,
  signUp,
} from '../helpers/console-session.ts';
import { createSecondInstance } from '../helpers/second-instance.ts';
import { createOrg, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

const clock = fixedClock(new Date('2026-12-01T10:00:00.000Z'));

describe('console accounts: invitations, passwords, sessions, roles', () => {
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  beforeAll(async () => {
    t = await createTestApp({ clock });
    org = await createOrg(t.app, 'Acme');
    other = await createOrg(t.app, 'Other');
  });
  afterAll(() => t.close());

  it('refuses short, common and self-derived passwords, and accepts a long passphrase', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(3000);
    expect(passwordProblem('short pass')).toMatch(/at least 12/);
    expect(passwordProblem('qwerty123456')).toMatch(/most common/);
    expect(passwordProblem('QWERTY123456')).toMatch(/most common/);
    expect(passwordProblem('jane.doe.secret!', { email: 'jane.doe@example.com' })).toMatch(/email/);
    expect(passwordProblem('aaaaaaaaaaaaaaaa')).toMatch(/repeats/);
    expect(passwordProblem(STRONG_PASSWORD)).toBeUndefined();
    expect(passwordProblem('x'.repeat(3) + 'y'.repeat(60) + 'z')).toBeUndefined();
  });

  it('signs up from a one-time invitation, stores scrypt N=2^17 r=8 p=1 and no plain email', async () => {
    const token = await inviteToken(t, org.id, 'Owner.One@Example.com', 'owner');
    const look = await t.app.inject({
      method: 'POST',
      url: '/console/api/invitation-lookup',
      payload: { token },
    });
    expect(look.json()).toMatchObject({ email: 'Owner.One@Example.com', role: 'owner', org_name: 'Acme' });
    const weak = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-up',
      payload: { token, password: 'qwerty123456' },
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error.message).toMatch(/most common/);
    const c = await signUp(t.app, token);
    const again = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-up',
      payload: { token, password: STRONG_PASSWORD },
    });
    expect(again.statusCode).toBe(404);
    const { rows } = await sql<{ password_hash: string; encrypted_email: string; email_sha256: string }>`
      SELECT password_hash, encrypted_email, email_sha256 FROM console_accounts WHERE id = ${c.accountId}`.execute(
      t.db.system,
    );
    const params = parsePasswordHash(rows[0]?.password_hash as string);
    expect(params).toMatchObject({ logN: 17, r: 8, p: 1 });
    expect(params?.salt.length).toBe(16);
    expect(rows[0]?.encrypted_email).toMatch(/^lenc1:/);
    const session = await consoleCall(t.app, c, 'GET', '/console/api/session');
    expect(session.json().account).toMatchObject({
      email: 'Owner.One@Example.com',
      role: 'owner',
      mfa_enabled: false,
    });
  });

  it('sets the cookie HttpOnly, SameSite=Lax, Path=/; Secure with __Host- outside localhost', async () => {
    const local = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-up',
      payload: {
        token: await inviteToken(t, org.id, 'cookie1@example.com', 'viewer'),
        password: STRONG_PASSWORD,
      },
    });
    const setCookie = String(local.headers['set-cookie']);
    expect(setCookie).toMatch(/^layers_session=/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/);
    const remote = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-up',
      headers: { host: 'console.layers.example' },
      payload: {
        token: await inviteToken(t, org.id, 'cookie2@example.com', 'viewer'),
        password: STRONG_PASSWORD,
      },
    });
    expect(String(remote.headers['set-cookie'])).toMatch(/^__Host-layers_session=.*Secure/);
  });

  it('runs partner routes with the session: CSRF required, audited as the user, RLS keeps other orgs out', async () => {
    const dev = await member(t, org.id, 'dev@example.com', 'developer');
    const noCsrf = await consoleCall(t.app, dev, 'POST', '/v1/projects', { name: 'Web' }, { csrf: false });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('csrf_token_invalid');
    const wrongCsrf = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { cookie: dev.cookie, 'x-csrf-token': 'x'.repeat(43) },
      payload: { name: 'Web' },
    });
    expect(wrongCsrf.statusCode).toBe(403);
    const crossOrigin = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { cookie: dev.cookie, 'x-csrf-token': dev.csrf, origin: 'https://evil.example' },
      payload: { name: 'Web' },
    });
    expect(crossOrigin.statusCode).toBe(403);
    const created = await consoleCall(t.app, dev, 'POST', '/v1/projects', { name: 'Web' });
    expect(created.statusCode).toBe(201);
    const audit = await consoleCall(t.app, dev, 'GET', `/v1/audit-log?resource_id=${created.json().id}`);
    expect(audit.json().data[0]).toMatchObject({
      action: 'project.created',
      actor: { type: 'user', id: dev.accountId },
    });
    const theirs = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { authorization: `Bearer ${other.secret}` },
      payload: { name: 'Theirs' },
    });
    const foreign = await consoleCall(t.app, dev, 'GET', `/v1/projects/${theirs.json().id}`);
    expect(foreign.statusCode).toBe(404);
    // A route the permission table does not list is refused to sessions.
    const unlisted = await consoleCall(t.app, dev, 'GET', '/v1/projects/proj_x/suppressions');
    expect(unlisted.statusCode).toBe(403);
  });

  it('refuses a viewer any change, with a sentence that says why, on the server', async () => {
    const viewer = await member(t, org.id, 'viewer@example.com', 'viewer');
    const res = await consoleCall(t.app, viewer, 'POST', '/v1/api-keys', { name: 'k', type: 'secret' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'role_not_allowed' });
    expect(res.json().error.message).toMatch(/viewer.*developer/);
    expect((await consoleCall(t.app, viewer, 'GET', '/v1/api-keys')).statusCode).toBe(200);
    expect(
      (
        await consoleCall(t.app, viewer, 'POST', '/console/api/invitations', {
          email: 'x@example.com',
          role: 'viewer',
        })
      ).statusCode,
    ).toBe(403);
  });

  it('TOTP: enrolment, each code once, recovery codes once, sign-in needs the code', async () => {
    const email = 'mfa@example.com';
    const c = await member(t, org.id, email, 'admin');
    const setup = await consoleCall(t.app, c, 'POST', '/console/api/me/mfa/setup', {
      password: STRONG_PASSWORD,
    });
    expect(setup.statusCode).toBe(200);
    const secret = setup.json().secret as string;
    const code = await totpCode(secret, clock.now());
    const confirm = await consoleCall(t.app, c, 'POST', '/console/api/me/mfa/confirm', { code });
    expect(confirm.statusCode).toBe(200);
    const recovery = confirm.json().recovery_codes as string[];
    expect(recovery).toHaveLength(10);
    const stored = await sql<{ code_sha256: string }>`SELECT code_sha256 FROM console_recovery_codes`.execute(
      t.db.system,
    );
    expect(stored.rows.map((r) => r.code_sha256).join()).not.toContain(
      recovery[0]?.replace(/-/g, '') as string,
    );

    const signIn = (extra: object) =>
      t.app.inject({
        method: 'POST',
        url: '/console/api/sign-in',
        payload: { email, password: STRONG_PASSWORD, ...extra },
      });
    expect((await signIn({})).json().error.code).toBe('mfa_code_required');
    // The code that confirmed enrolment was used: refused within its 30 s.
    expect((await signIn({ code })).statusCode).toBe(401);
    clock.advance(30_000);
    const next = await totpCode(secret, clock.now());
    expect((await signIn({ code: next })).statusCode).toBe(200);
    expect((await signIn({ code: next })).statusCode).toBe(401);
    expect((await signIn({ code: recovery[0] })).statusCode).toBe(200);
    expect((await signIn({ code: recovery[0] })).statusCode).toBe(401);
    expect((await signIn({ code: recovery[1]?.toLowerCase() })).statusCode).toBe(200);
  });

  it('ends sessions: sign-out, revocation, 30 minutes idle, 12 hours absolute', async () => {
    const c = await member(t, org.id, 'sessions@example.com', 'viewer');
    const second = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'sessions@example.com', password: STRONG_PASSWORD },
    });
    const c2 = { cookie: sessionCookieOf(second), csrf: second.json().csrf_token, accountId: c.accountId };
    const list = await consoleCall(t.app, c, 'GET', '/console/api/me/sessions');
    expect(list.json().data).toHaveLength(2);
    const otherId = list.json().data.find((s: { current: boolean }) => !s.current).id;
    expect((await consoleCall(t.app, c, 'DELETE', `/console/api/me/sessions/${otherId}`)).statusCode).toBe(
      200,
    );
    expect((await consoleCall(t.app, c2, 'GET', '/console/api/session')).statusCode).toBe(401);

    clock.advance(29 * 60_000);
    expect((await consoleCall(t.app, c, 'GET', '/console/api/session')).statusCode).toBe(200);
    clock.advance(30 * 60_000 + 1);
    const idle = await consoleCall(t.app, c, 'GET', '/v1/projects');
    expect(idle.statusCode).toBe(401);
    expect(idle.json().error.code).toBe('not_signed_in');

    const fresh = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'sessions@example.com', password: STRONG_PASSWORD },
    });
    const c3 = { cookie: sessionCookieOf(fresh), csrf: fresh.json().csrf_token, accountId: c.accountId };
    for (let i = 0; i < 24; i++) {
      clock.advance(29 * 60_000);
      const ok = await consoleCall(t.app, c3, 'GET', '/console/api/session');
      if (i < 24 && ok.statusCode !== 200) {
        expect(i).toBeGreaterThanOrEqual(24); // fails: an active session died before 12 h
      }
    }
    clock.advance(29 * 60_000); // 25 × 29 min = 12 h 5 min since sign-in
    expect((await consoleCall(t.app, c3, 'GET', '/console/api/session')).statusCode).toBe(401);

    const fourth = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'sessions@example.com', password: STRONG_PASSWORD },
    });
    const c4 = { cookie: sessionCookieOf(fourth), csrf: fourth.json().csrf_token, accountId: c.accountId };
    expect((await consoleCall(t.app, c4, 'POST', '/console/api/sign-out')).statusCode).toBe(200);
    expect((await consoleCall(t.app, c4, 'GET', '/console/api/session')).statusCode).toBe(401);
  });

  it('answers unknown email and wrong password alike', async () => {
    await member(t, org.id, 'known@example.com', 'viewer');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'known@example.com', password: 'not the password at all' },
    });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email: 'nobody@example.com', password: 'not the password at all' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const strip = (b: string) => JSON.stringify({ ...JSON.parse(b).error, request_id: undefined });
    expect(strip(wrong.body)).toBe(strip(unknown.body));
  });

  it('exports and deletes my account; the last owner cannot leave', async () => {
    const c = await member(t, org.id, 'leaver@example.com', 'developer');
    await consoleCall(t.app, c, 'POST', '/v1/projects', { name: 'Mine' });
    const exp = await consoleCall(t.app, c, 'GET', '/console/api/me/export');
    expect(exp.statusCode).toBe(200);
    expect(exp.json().account).toMatchObject({
      id: c.accountId,
      email: 'leaver@example.com',
      role: 'developer',
    });
    expect(exp.json().audit_entries.map((e: { action: string }) => e.action)).toContain('project.created');
    expect(exp.json().sessions.length).toBeGreaterThan(0);
    const wrong = await consoleCall(t.app, c, 'POST', '/console/api/me/delete', {
      password: 'not my password!!',
    });
    expect(wrong.statusCode).toBe(401);
    const del = await consoleCall(t.app, c, 'POST', '/console/api/me/delete', { password: STRONG_PASSWORD });
    expect(del.statusCode).toBe(200);
    const left = await sql`SELECT 1 FROM console_accounts WHERE id = ${c.accountId}
      UNION ALL SELECT 1 FROM console_sessions WHERE account_id = ${c.accountId}`.execute(t.db.system);
    expect(left.rows).toHaveLength(0);
    expect((await consoleCall(t.app, c, 'GET', '/console/api/session')).statusCode).toBe(401);

    const lone = await createOrg(t.app, 'Lone');
    const owner = await member(t, lone.id, 'lone-owner@example.com', 'owner');
    const refused = await consoleCall(t.app, owner, 'POST', '/console/api/me/delete', {
      password: STRONG_PASSWORD,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/only owner/);
  });

  it("partnership end deletes the org's console accounts and sessions at once", async () => {
    const ending = await createOrg(t.app, 'Ending');
    const c = await member(t, ending.id, 'ending@example.com', 'owner');
    const off = await t.app.inject({
      method: 'POST',
      url: `/admin/v1/orgs/${ending.id}/offboard`,
      headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' },
    });
    expect(off.statusCode).toBe(200);
    const left = await sql`SELECT 1 FROM console_accounts WHERE org_id = ${ending.id}
      UNION ALL SELECT 1 FROM console_sessions WHERE org_id = ${ending.id}`.execute(t.db.system);
    expect(left.rows).toHaveLength(0);
    expect((await consoleCall(t.app, c, 'GET', '/console/api/session')).statusCode).toBe(401);
  });

  it('throttles sign-in per account across two instances on one database, known or unknown email', async () => {
    const second = await createSecondInstance(t, { clock });
    try {
      await member(t, org.id, 'throttled@example.com', 'viewer');
      const attempt = (app: typeof t.app, email: string, password: string) =>
        app.inject({ method: 'POST', url: '/console/api/sign-in', payload: { email, password } });
      for (let i = 0; i < 5; i++) {
        const res = await attempt(
          i % 2 === 0 ? t.app : second.app,
          'throttled@example.com',
          `wrong password ${i}!`,
        );
        expect(res.statusCode).toBe(401);
      }
      // Locked everywhere, even with the right password; the unknown email locks the same way.
      const locked = await attempt(second.app, 'throttled@example.com', STRONG_PASSWORD);
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      expect((await attempt(t.app, 'throttled@example.com', STRONG_PASSWORD)).statusCode).toBe(429);
      for (let i = 0; i < 5; i++) await attempt(t.app, 'ghost@example.com', `wrong password ${i}!`);
      expect((await attempt(second.app, 'ghost@example.com', 'any password at all')).statusCode).toBe(429);
      const rows = await sql<{ bucket: string }>`SELECT bucket FROM console_login_throttle`.execute(
        t.db.system,
      );
      expect(rows.rows.map((r) => r.bucket).join()).not.toMatch(/example\.com|127\.0\.0\.1/);
      clock.advance(15 * 60_000 + 1);
      expect((await attempt(second.app, 'throttled@example.com', STRONG_PASSWORD)).statusCode).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('throttles per address too: many emails from one address lock that address, not others', async () => {
    const signIn = createConsoleSignInService({
      dal: t.container.consoleAuth.dal,
      appDb: t.db.app,
      systemDb: t.db.system,
      envelope: t.container.envelope,
      auditLog: t.container.auditLog,
      clock,
      throttle: { windowMs: 15 * 60_000, lockMs: 15 * 60_000, perAccount: 5, perAddress: 3 },
    });
    const from = (address: string, email: string) =>
      signIn.signIn({ email, password: 'wrong password here' }, { address, userAgent: undefined }, null).then(
        () => 200,
        (e: { status: number }) => e.status,
      );
    for (let i = 0; i < 3; i++) expect(await from('203.0.113.9', `spray-${i}@example.com`)).toBe(401);
    expect(await from('203.0.113.9', 'spray-fresh@example.com')).toBe(429);
    expect(await from('198.51.100.7', 'spray-fresh@example.com')).toBe(401);
  });

  it("needs the CSRF token on the console's own state changes, and the password to start MFA set-up", async () => {
    const admin = await member(t, org.id, 'csrf-admin@example.com', 'admin');
    const noToken = await consoleCall(
      t.app,
      admin,
      'POST',
      '/console/api/invitations',
      { email: 'n@example.com', role: 'viewer' },
      { csrf: false },
    );
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().error.code).toBe('csrf_token_invalid');
    const wrongPw = await consoleCall(t.app, admin, 'POST', '/console/api/me/mfa/setup', {
      password: 'not my password 123',
    });
    expect(wrongPw.statusCode).toBe(401);
    expect(wrongPw.json().error.code).toBe('invalid_credentials');
  });

  it('canary: no email or password in logs, the request log or any stored row (only hashes and ciphertext)', async () => {
    const email = 'canary.rep.7f3a@example.com';
    const password = 'canary passphrase 91 zebra';
    const c = await signUp(t.app, await inviteToken(t, org.id, email, 'admin'), password);
    await t.app.inject({
      method: 'POST',
      url: '/console/api/sign-in',
      payload: { email, password: 'canary wrong pass 12' },
    });
    await t.app.inject({ method: 'POST', url: '/console/api/sign-in', payload: { email, password } });
    await consoleCall(t.app, c, 'POST', '/console/api/me/password', {
      password,
      new_password: `${password} 2`,
    });
    await consoleCall(t.app, c, 'POST', '/console/api/invitations', {
      email: 'canary.invitee.7f3a@example.com',
      role: 'viewer',
    });
    await consoleCall(t.app, c, 'POST', '/v1/projects', { name: 'Canary' });
    await t.container.requestLog.flush();
    const logs = t.logs.join('\n');
    // Sign-ins are logged, by outcome and account id only.
    expect(logs).toContain('"event":"console.sign_in","outcome":"invalid_credentials"');
    expect(logs).toContain(`"account_id":"${c.accountId}"`);
    for (const secret of [email, password, 'canary.invitee.7f3a', 'canary.rep.7f3a'])
      expect(logs).not.toContain(secret);
    const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`.execute(t.db.system);
    let dump = '';
    for (const { table_name } of tables.rows)
      dump += (
        await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table_name)} t`.execute(t.db.system)
      ).rows
        .map((r) => r.row)
        .join('\n');
    expect(dump.length).toBeGreaterThan(1000);
    for (const secret of ['canary.rep.7f3a', 'canary passphrase', 'canary.invitee.7f3a', 'canary wrong pass'])
      expect(dump.toLowerCase()).not.toContain(secret);
  });
});
