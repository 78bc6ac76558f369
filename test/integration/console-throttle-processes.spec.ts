import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { member, STRONG_PASSWORD } from '../helpers/console-session.ts';
import { type ServerPair, startServerProcesses } from '../helpers/server-pair.ts';
import { createOrg, createTestApp, type TestApp } from '../helpers/test-app.ts';

type Answer = { status: number; retryAfter: string | null; error: Record<string, unknown> | undefined };

/**
 * Sign-in throttling with two real server processes on one PostgreSQL: failures sent to either
 * process count in the same buckets (per account, per address), the lock holds on both, and an
 * unknown email gets exactly the answers a known one with a wrong password gets. The client address
 * comes from X-Forwarded-For (TRUST_PROXY=127.0.0.1), so each case has its own address bucket.
 */
describe('console sign-in throttling across two processes', () => {
  let t: TestApp;
  let pair: ServerPair;
  let orgId: string;

  beforeAll(async () => {
    t = await createTestApp();
    orgId = (await createOrg(t.app, 'Throttled')).id;
    pair = await startServerProcesses(t, 2, { TRUST_PROXY: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await pair?.stop();
    await t.close();
  });

  /** One sign-in at server `i`, from `address`; the answer without its request id. */
  async function signIn(i: number, address: string, email: string, password: string): Promise<Answer> {
    const server = pair.servers[i % 2] as { url: string };
    const res = await fetch(`${server.url}/console/api/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ email, password }),
    });
    const body = (await res.json()) as { error?: Record<string, unknown> };
    const error = body.error ? { ...body.error, request_id: undefined } : undefined;
    return { status: res.status, retryAfter: res.headers.get('retry-after'), error };
  }
  const statuses = (answers: Answer[]) => answers.map((a) => a.status);

  it('5 concurrent wrong passwords split over both processes lock the account on both; an unknown email alike', async () => {
    await member(t, orgId, 'rep@example.com', 'viewer');
    // Five failures at the same moment, three at one process and two at the other: all counted.
    const known = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => signIn(i, '203.0.113.10', 'rep@example.com', `wrong password ${i}!`)),
    );
    const unknown = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => signIn(i, '203.0.113.11', 'nobody@example.com', `wrong password ${i}!`)),
    );
    expect(statuses(known)).toEqual([401, 401, 401, 401, 401]);
    expect(unknown).toEqual(known);

    // Locked at both processes, the right password included; the unknown email answers the same.
    const lockedKnown = [
      await signIn(0, '203.0.113.10', 'rep@example.com', STRONG_PASSWORD),
      await signIn(1, '203.0.113.10', 'rep@example.com', STRONG_PASSWORD),
    ];
    const lockedUnknown = [
      await signIn(0, '203.0.113.11', 'nobody@example.com', 'any password at all'),
      await signIn(1, '203.0.113.11', 'nobody@example.com', 'any password at all'),
    ];
    expect(statuses(lockedKnown)).toEqual([429, 429]);
    for (const a of [...lockedKnown, ...lockedUnknown]) {
      expect(Number(a.retryAfter)).toBeGreaterThan(800);
      expect(Number(a.retryAfter)).toBeLessThanOrEqual(900);
      expect(a.error).toEqual(lockedKnown[0]?.error);
    }
    // The account's lock is its own (a fresh address does not lift it) and lives in PostgreSQL only:
    // once its row says the lock is over, the other process signs in.
    expect((await signIn(1, '198.51.100.20', 'rep@example.com', STRONG_PASSWORD)).status).toBe(429);
    const buckets = await sql<{ failures: number }>`SELECT failures FROM console_login_throttle
      WHERE bucket LIKE 'account:%' ORDER BY failures`.execute(t.db.system);
    expect(buckets.rows.map((r) => r.failures)).toEqual([5, 5]);
    await sql`UPDATE console_login_throttle SET locked_until = now() - interval '1 second',
      window_ends_at = now() - interval '1 second' WHERE bucket LIKE 'account:%'`.execute(t.db.system);
    expect((await signIn(1, '203.0.113.10', 'rep@example.com', STRONG_PASSWORD)).status).toBe(200);
  }, 120_000);

  it('50 failures from one address over both processes lock that address on both, not another one', async () => {
    const address = '203.0.113.50';
    // Different emails (no account lock), two at a time per process.
    const answers: Answer[] = [];
    for (let round = 0; round < 50; round += 4) {
      const batch = [0, 1, 2, 3].filter((k) => round + k < 50);
      answers.push(
        ...(await Promise.all(
          batch.map((k) => signIn(k, address, `spray-${round + k}@example.com`, 'wrong password here')),
        )),
      );
    }
    expect(new Set(statuses(answers))).toEqual(new Set([401]));
    const fresh = [
      await signIn(0, address, 'spray-fresh@example.com', 'wrong password here'),
      await signIn(1, address, 'spray-fresh@example.com', 'wrong password here'),
    ];
    expect(statuses(fresh)).toEqual([429, 429]);
    expect((await signIn(1, '198.51.100.51', 'spray-fresh@example.com', 'wrong password here')).status).toBe(
      401,
    );
  }, 180_000);
});
