import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateKeys } from '../../src/cli/key-rotation.ts';
import { createLogger } from '../../src/http/logging.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import type { TikTokFake } from '../fakes/tiktok/tiktok-fake.ts';
import { databaseUrl, runCli } from '../helpers/cli.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { followCallback, offboardSocialAccounts, startConnect } from '../helpers/social-accounts.ts';
import { closeSocialApp, startTikTokApp } from '../helpers/social-app.ts';
import { bearer, createOrg, createProject, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * Tokens stay ciphertext everywhere: never in a whole-database dump except as ciphertext, in a log
 * line or in a response; `layers verify` finds a planted plaintext token; `layers keys rotate`
 * re-wraps every ciphertext column; TikTok's webhook signature; offboarding revokes every account.
 */
describe('social accounts: secrets, rotation, callbacks, offboarding', () => {
  let fake: TikTokFake;
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  const KEY = 'tt_key_sec';
  const SECRET = 'tt_secret_sec_canary';
  const responses: string[] = [];

  beforeAll(async () => {
    ({ fake, t, org, projectId } = await startTikTokApp(KEY, SECRET));
  });
  afterAll(() => closeSocialApp(t, fake));

  async function connect(openId: string): Promise<string> {
    const back = await followCallback(
      t,
      fake.authorize(await startConnect(t, org, projectId, 'tiktok'), openId),
    );
    responses.push(back.body, back.location?.href ?? '');
    return back.location?.searchParams.get('social_account_ids') as string;
  }

  it('no token (access, refresh, rotated or PKCE verifier) appears in the database, the logs or a response', async () => {
    const id = await connect('open_canary');
    await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
    await t.container.socialAccounts.tokens.credentials(org.id, id);
    fake.control.videos = [{ id: 'v9', video_description: 'x', view_count: 1 }];
    await t.container.socialAccounts.sync.syncAccount(org.id, id);
    for (const url of [
      `/v1/social-accounts/${id}`,
      `/v1/projects/${projectId}/social-accounts`,
      `/v1/social-accounts/${id}/posts`,
    ])
      responses.push((await t.app.inject({ method: 'GET', url, headers: bearer(org.secret) })).body);
    // Every token TikTok issued (also the rotated ones) and the verifiers we sent.
    const issued = fake.requests
      .flatMap((r) => {
        try {
          const b = JSON.parse(r.body || '{}');
          return [r.form?.get('code_verifier'), r.form?.get('refresh_token'), b.access_token];
        } catch {
          return [r.form?.get('code_verifier'), r.form?.get('refresh_token')];
        }
      })
      .filter((v): v is string => typeof v === 'string' && v.length > 10);
    const tokens = [...new Set([...issued, ...fake.liveAccessTokens()])];
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    const dump = await dumpDatabase(t.db.systemPool);
    const logs = t.logs.join('\n');
    const answered = responses.join('\n');
    for (const token of [...tokens, SECRET]) {
      expect(dump.includes(token), 'database').toBe(false);
      expect(logs.includes(token), 'logs').toBe(false);
      expect(answered.includes(token), 'responses').toBe(false);
    }
    // The tokens are in the database, as ciphertext that decrypts to them.
    const { rows } = await t.db.systemPool.query(
      'SELECT encrypted_access_token FROM social_accounts WHERE id = $1',
      [id],
    );
    const plain = t.container.envelope.decrypt(rows[0].encrypted_access_token, {
      orgId: org.id,
      recordId: id,
      field: 'access_token',
    });
    expect(fake.liveAccessTokens()).toContain(plain);
  });

  it("a connect's authorization URL (its one-time state) is kept in the idempotency cache only as ciphertext", async () => {
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: `/v1/projects/${projectId}/social-accounts/connect`,
        headers: { ...bearer(org.secret), 'idempotency-key': 'connect-once' },
        payload: { platform: 'tiktok', return_url: 'https://app.example.com/done' },
      });
    const first = await send();
    expect(first.statusCode).toBe(201);
    const state = new URL(first.json().authorization_url).searchParams.get('state') as string;
    const replay = await send();
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(first.body);
    const dump = await dumpDatabase(t.db.systemPool);
    expect(dump.includes(state)).toBe(false);
    const { rows } = await t.db.systemPool.query(
      `SELECT response_body, encrypted_response_body FROM idempotency_keys WHERE org_id = $1 AND encrypted_response_body IS NOT NULL`,
      [org.id],
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it('layers verify reports a plaintext token planted in a token column (never quoting it)', async () => {
    const id = await connect('open_plant');
    await t.db.systemPool.query(
      `UPDATE social_accounts SET encrypted_refresh_token = 'rft.planted-plaintext-token' WHERE id = $1`,
      [id],
    );
    const res = await runCli(['verify', '--json'], {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
    });
    expect(res.code).toBe(3);
    const report = JSON.parse(res.stdout);
    const check = report.checks.find((c: { name: string }) => c.name === 'ciphertext');
    expect(check.violations).toEqual([
      expect.objectContaining({ table: 'social_accounts', column: 'encrypted_refresh_token', rows: 1 }),
    ]);
    expect(res.stdout).not.toContain('planted-plaintext');
    await t.db.systemPool.query(`UPDATE social_accounts SET encrypted_refresh_token = NULL WHERE id = $1`, [
      id,
    ]);
  });

  it('keys rotate re-wraps every ciphertext column with the first key, resumably', async () => {
    const id = await connect('open_rotate');
    // A webhook endpoint (its signing secret) and a replayable secret-bearing response.
    const wh = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: { ...bearer(org.secret), 'idempotency-key': 'rotate-1' },
      payload: { url: 'https://hooks.example.com/x', events: ['*'] },
    });
    expect(wh.statusCode).toBe(201);
    const newKey = generateKeyEncryptionKey();
    const both = createEnvelope(parseKeyEncryptionKeys(`${newKey},${t.config.encryptionKey}`));
    const progress: string[] = [];
    const report = await rotateKeys(t.db.system, both, (p) =>
      progress.push(`${p.table}.${p.column}:${p.done}/${p.total}`),
    );
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(report.unknown_columns).toEqual([]);
    const byCol = Object.fromEntries(report.columns.map((c) => [`${c.table}.${c.column}`, c.rewrapped]));
    expect(byCol['social_accounts.encrypted_access_token']).toBeGreaterThan(0);
    expect(byCol['webhook_endpoints.encrypted_secret']).toBeGreaterThan(0);
    expect(byCol['idempotency_keys.encrypted_response_body']).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThan(0);
    // Only the new key is needed now.
    const onlyNew = createEnvelope(parseKeyEncryptionKeys(newKey));
    const { rows } = await t.db.systemPool.query('SELECT * FROM social_accounts WHERE id = $1', [id]);
    const token = onlyNew.decrypt(rows[0].encrypted_access_token, {
      orgId: org.id,
      recordId: id,
      field: 'access_token',
    });
    expect(fake.liveAccessTokens()).toContain(token);
    const { rows: whRows } = await t.db.systemPool.query(
      'SELECT id, encrypted_secret FROM webhook_endpoints WHERE id = $1',
      [wh.json().id],
    );
    expect(
      onlyNew.decrypt(whRows[0].encrypted_secret, {
        orgId: org.id,
        recordId: whRows[0].id,
        field: 'signing_secret',
      }),
    ).toBe(wh.json().secret);
    // Run again: nothing left on the old key, nothing re-wrapped twice.
    const again = await rotateKeys(t.db.system, both);
    expect(again.columns.every((c) => c.rewrapped === 0 && c.remaining === 0)).toBe(true);

    // The operator's command, as a separate process: `layers keys rotate --json` with a third key first.
    const third = generateKeyEncryptionKey();
    const env = { DATABASE_URL: databaseUrl(t.db.superuser), LAYERS_ENCRYPTION_KEY: `${third},${newKey}` };
    const cli = await runCli(['keys', 'rotate', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    const cliReport = JSON.parse(cli.stdout);
    expect(cliReport.ok).toBe(true);
    expect(
      cliReport.columns.find((c: { table: string }) => c.table === 'social_accounts').rewrapped,
    ).toBeGreaterThan(0);
    const { rows: after } = await t.db.systemPool.query(
      'SELECT encrypted_access_token FROM social_accounts WHERE id = $1',
      [id],
    );
    const onlyThird = createEnvelope(parseKeyEncryptionKeys(third));
    expect(fake.liveAccessTokens()).toContain(
      onlyThird.decrypt(after[0].encrypted_access_token, {
        orgId: org.id,
        recordId: id,
        field: 'access_token',
      }),
    );
  });

  it('TikTok webhook: a bad signature is 401; authorization.removed revokes that user’s account', async () => {
    const id = await connect('open_removed');
    const body = JSON.stringify({
      client_key: KEY,
      event: 'authorization.removed',
      create_time: 1_764_000_000,
      user_openid: 'open_removed',
      content: '{"reason": 1}',
    });
    const sign = (secret: string, ts = Math.floor(Date.now() / 1000)) =>
      `t=${ts},s=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;
    const send = (signature?: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/platform-callbacks/tiktok',
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'tiktok-signature': signature } : {}),
        },
        payload: body,
      });
    expect((await send()).statusCode).toBe(401);
    expect((await send(sign('wrong'))).statusCode).toBe(401);
    expect((await send(sign(SECRET, Math.floor(Date.now() / 1000) - 3600))).statusCode).toBe(401);
    const status = async () =>
      (
        await t.db.systemPool.query(
          'SELECT status, encrypted_access_token FROM social_accounts WHERE id = $1',
          [id],
        )
      ).rows[0];
    expect((await status()).status).toBe('active');
    const ok = await send(sign(SECRET));
    expect(ok.statusCode).toBe(200);
    expect(await status()).toEqual({ status: 'revoked', encrypted_access_token: null });
  });

  it('offboarding revokes every account: tokens gone in its transaction, the platform calls from the queue', async () => {
    const other = await createOrg(t.app, 'Leaving');
    const project = await createProject(t.app, other);
    const ids: string[] = [];
    for (const openId of ['open_off_1', 'open_off_2']) {
      const back = await followCallback(
        t,
        fake.authorize(await startConnect(t, other, project.id, 'tiktok'), openId),
      );
      ids.push(back.location?.searchParams.get('social_account_ids') as string);
    }
    const { accountsLeft, queuedRevokes } = await offboardSocialAccounts(t, other.id);
    expect(accountsLeft).toBe(0);
    expect(queuedRevokes.map((p) => p.social_account_id).sort()).toEqual([...ids].sort());
    // The worker runs the queued revokes (job catalog → revocation), each with the token from its payload.
    fake.counts.revoke = 0;
    const runner = await startWorker({ container: t.container, logger: createLogger({ level: 'silent' }) });
    try {
      const deadline = Date.now() + 20_000;
      while (fake.counts.revoke < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await runner.stop();
    }
    expect(fake.counts.revoke).toBe(2);
    const { rows: events } = await t.db.systemPool.query(
      `SELECT data->>'reason' AS reason FROM webhook_events WHERE org_id = $1 AND type = 'social_account.revoked'`,
      [other.id],
    );
    expect(events.map((e) => e.reason)).toEqual(['offboarding', 'offboarding']);
  });
});
