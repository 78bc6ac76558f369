import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TikTokFake } from '../fakes/tiktok/tiktok-fake.ts';
import { databaseUrl } from '../helpers/cli.ts';
import { followCallback, PUBLIC_URL, startConnect } from '../helpers/social-accounts.ts';
import { closeSocialApp, startTikTokApp } from '../helpers/social-app.ts';
import type { TestApp, TestOrg } from '../helpers/test-app.ts';
import { startTokenCallers, type TokenCallers } from '../helpers/token-callers.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Refresh single-flight across real OS processes: two platform processes on one PostgreSQL, ten
 * callers each, the TikTok fake (rotating refresh tokens) in this process reached through
 * LAYERS_EGRESS_REDIRECT. Within a process the callers share one promise; across processes only the
 * row lock and the refresh lease keep the second process from refreshing too (which, with
 * rotation, would spend the refresh token the first one just replaced).
 */
describe('social token refresh across two processes', () => {
  const KEY = 'tt_client_key_procs';
  const SECRET = 'tt_client_secret_procs';
  let fake: TikTokFake;
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  let dataDir: string;

  beforeAll(async () => {
    ({ fake, t, org, projectId } = await startTikTokApp(KEY, SECRET));
    dataDir = await mkdtemp(path.join(tmpdir(), 'layers-refresh-'));
  });
  afterAll(async () => {
    await closeSocialApp(t, fake);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('20 concurrent callers in two processes: one refresh at TikTok, every caller gets the newest token', async () => {
    const back = await followCallback(
      t,
      fake.authorize(await startConnect(t, org, projectId, 'tiktok'), 'open_tt_procs'),
    );
    const id = back.location?.searchParams.get('social_account_ids') as string;
    expect(id).toMatch(/^sa_/);
    const row = async () =>
      (await t.db.systemPool.query('SELECT * FROM social_accounts WHERE id = $1', [id])).rows[0];
    const before = t.container.socialAccounts.tokens.credentialsOf(await row());
    // The access token has expired: every caller needs a refresh before it can use the account.
    await t.db.systemPool.query(
      `UPDATE social_accounts SET token_expires_at = now() - interval '1 minute' WHERE id = $1`,
      [id],
    );

    const env = {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
      LAYERS_DATA_DIR: dataDir,
      LAYERS_PUBLIC_URL: PUBLIC_URL,
      LAYERS_EGRESS_REDIRECT: `open.tiktokapis.com=${fake.url}`,
      TIKTOK_CLIENT_KEY: KEY,
      TIKTOK_CLIENT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    };
    const processes: TokenCallers[] = [];
    try {
      processes.push(...(await Promise.all([0, 1].map(() => startTokenCallers(env, org.id, id, 10)))));
      fake.counts.refresh = 0;
      // A slow token endpoint: the other process asks while the first one's refresh is in flight.
      fake.control.refreshDelayMs = 300;
      for (const p of processes) p.go();
      const results = await Promise.all(processes.map((p) => p.result));

      expect(results.map((r) => r.errors)).toEqual([[], []]);
      // Both processes asked within the refresh's 300 ms at TikTok (which began after the first
      // ask): the second asked before the first one's new tokens could be stored.
      const asked = results.map((r) => r.asked_at);
      expect(Math.max(...asked) - Math.min(...asked)).toBeLessThan(300);
      expect(fake.counts.refresh).toBe(1);
      const newest = fake.liveAccessTokens().at(-1) as string;
      expect(newest).not.toBe(before.accessToken);
      expect(results.map((r) => r.tokens)).toEqual([
        Array(10).fill(sha256(newest)),
        Array(10).fill(sha256(newest)),
      ]);
      // Stored: the newest access token and the rotated refresh token, the one TikTok still honours.
      const after = t.container.socialAccounts.tokens.credentialsOf(await row());
      expect(after.accessToken).toBe(newest);
      expect(fake.isLive(after.refreshToken as string)).toBe(true);
      expect(fake.isLive(before.refreshToken as string)).toBe(false);
      expect(new Set(results.flatMap((r) => r.refresh_tokens))).toEqual(
        new Set([sha256(after.refreshToken as string)]),
      );
      expect((await row()).refresh_lease_id).toBeNull();
    } finally {
      fake.control.refreshDelayMs = 0;
      for (const p of processes) p.kill();
    }
  }, 60_000);
});
