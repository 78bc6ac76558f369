import { sql } from 'kysely';
import type { TenantDb } from '../../db/tenant-transaction.ts';
import type { SocialPlatformName } from '../../platforms/social-platform.ts';

/**
 * Per-token call budgets a publication's steps keep to, shared by every worker process through
 * PostgreSQL (publishing_budget: a fixed one-minute window per account and kind). TikTok documents
 * 6 post inits and 30 status queries a minute per user token; a step with an empty checkpoint is an
 * init, any other step is counted against the 30 (chunk uploads too: conservative). The other
 * platforms' quotas are per app or per day and answered by their 429s (the runner waits them out).
 */
const BUDGETS: Partial<Record<SocialPlatformName, { init: number; step: number }>> = {
  tiktok: { init: 6, step: 30 },
};
const WINDOW_MS = 60_000;

/** Counts one step; answers null (go on) or when the window reopens (wait until then). */
export async function takeBudget(
  tx: TenantDb,
  row: { org_id: string; social_account_id: string; platform: SocialPlatformName },
  kind: 'init' | 'step',
  now: Date,
): Promise<Date | null> {
  const limit = BUDGETS[row.platform]?.[kind];
  if (limit === undefined) return null;
  const since = new Date(now.getTime() - WINDOW_MS);
  // One statement: a window older than a minute restarts at 1; a full window is not counted further.
  const r = await sql<{ calls: number; window_start: Date }>`
    INSERT INTO publishing_budget (org_id, social_account_id, kind, window_start, calls)
    VALUES (${row.org_id}, ${row.social_account_id}, ${kind}, ${now}, 1)
    ON CONFLICT (social_account_id, kind) DO UPDATE SET
      window_start = CASE WHEN publishing_budget.window_start <= ${since} THEN ${now} ELSE publishing_budget.window_start END,
      calls = CASE WHEN publishing_budget.window_start <= ${since} THEN 1
                   ELSE LEAST(publishing_budget.calls + 1, ${limit + 1}) END
    RETURNING calls, window_start`.execute(tx);
  const taken = r.rows[0];
  if (!taken || taken.calls <= limit) return null;
  return new Date(new Date(taken.window_start).getTime() + WINDOW_MS);
}
