import type { TestApp, TestOrg } from './test-app.ts';
import { ADMIN_TOKEN, bearer } from './test-app.ts';

/** Starts a connect flow and answers the authorization URL (what the partner's browser opens). */
export async function startConnect(
  t: TestApp,
  org: TestOrg,
  projectId: string,
  platform: string,
  returnUrl = 'https://app.example.com/social/done',
): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/projects/${projectId}/social-accounts/connect`,
    headers: bearer(org.secret),
    payload: { platform, return_url: returnUrl },
  });
  if (res.statusCode !== 201) throw new Error(`connect failed: ${res.statusCode} ${res.body}`);
  return res.json().authorization_url;
}

/** Follows the platform's redirect back to our callback; answers the 303's Location. */
export async function followCallback(
  t: TestApp,
  redirect: string,
): Promise<{ status: number; location: URL | null; body: string }> {
  const u = new URL(redirect);
  const res = await t.app.inject({ method: 'GET', url: `${u.pathname}${u.search}` });
  const loc = res.headers.location;
  return { status: res.statusCode, location: typeof loc === 'string' ? new URL(loc) : null, body: res.body };
}

export const PUBLIC_URL = 'http://localhost:8080';
export const callbackUri = (platform: string) => `${PUBLIC_URL}/v1/oauth/callback/${platform}`;

/**
 * Ends the org's partnership (`POST /admin/v1/orgs/:orgId/offboard`) and answers what the
 * social-accounts side leaves behind: how many account rows are left, and the payloads of the
 * revocation jobs it queued (the platform calls that run after the transaction).
 */
export async function offboardSocialAccounts(
  t: TestApp,
  orgId: string,
): Promise<{ accountsLeft: number; queuedRevokes: Record<string, unknown>[] }> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/admin/v1/orgs/${orgId}/offboard`,
    headers: bearer(ADMIN_TOKEN),
  });
  if (res.statusCode !== 200) throw new Error(`offboard failed: ${res.statusCode} ${res.body}`);
  const { rows } = await t.db.systemPool.query(
    'SELECT count(*)::int AS n FROM social_accounts WHERE org_id = $1',
    [orgId],
  );
  const { rows: jobs } = await t.db.systemPool.query(
    `SELECT j.payload FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id
     WHERE k.identifier = 'social_accounts.revoke' AND j.payload->>'org_id' = $1`,
    [orgId],
  );
  return { accountsLeft: rows[0].n, queuedRevokes: jobs.map((j) => j.payload) };
}
