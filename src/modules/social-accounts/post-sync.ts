import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { type Clock, HOUR_MS } from '../../lib/clock.ts';
import type { PlatformRegistry } from '../../platforms/platform-registry.ts';
import { PlatformError } from '../../platforms/social-platform.ts';
import type { SocialAccountsDal } from './social-accounts-dal.ts';
import type { SocialMetrics } from './social-metrics.ts';
import { REFRESH_MARGIN_MS, type SocialTokens } from './social-tokens.ts';

/**
 * The post metadata sync (cron `social_accounts.sync`, every 5 minutes): each active account is
 * synced about once an hour, at its own minute of the hour (a hash of its id), so accounts are spread
 * over the hour instead of all calling the platforms at once. A sync pulls the account's recent
 * public posts (ids, caption, permalink, published time, views/likes/comments/shares) into
 * post_metadata (its `collected_at`, the clock of the class's retention, is the sync's time).
 * A 429 (or the vendor's rate code) moves the account's next sync past the platform's Retry-After
 * (at least 15 minutes); a transient failure retries in 10 minutes; refused tokens mark the account
 * needs_reconnect (in the token manager) and it is not synced again until reconnected.
 *
 * The same cron's sibling `social_accounts.refresh` refreshes tokens that expire within the next
 * 10 minutes, ahead of any call that would need them, and deletes expired connect states.
 */
/** Accounts per cron run (every 5 minutes) and syncs in flight at once: up to 2,400 accounts an hour. */
const BATCH = 200;
const CONCURRENCY = 4;
const RATE_LIMIT_BACKOFF_MS = 15 * 60_000;
const TRANSIENT_BACKOFF_MS = 10 * 60_000;

/** This account's slot in the hour after `now`: the next sync time. */
export function nextSyncAt(accountId: string, now: Date): Date {
  const offset = createHash('sha256').update(accountId).digest().readUInt32BE(0) % HOUR_MS;
  const hourStart = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  let at = hourStart + offset;
  while (at <= now.getTime() + HOUR_MS / 2) at += HOUR_MS;
  return new Date(at);
}

export function createPostSync(deps: {
  appDb: Kysely<Database>;
  systemDb: Kysely<Database>;
  dal: SocialAccountsDal;
  platforms: PlatformRegistry;
  tokens: SocialTokens;
  clock: Clock;
  onNeedsReconnect: (orgId: string, accountId: string) => Promise<void>;
  /** Revokes the accounts of projects pending deletion (social-revocation.ts). */
  revokeInDeletedProjects: () => Promise<number>;
  metrics?: SocialMetrics;
}) {
  const { dal, platforms, tokens, clock } = deps;

  async function setNext(orgId: string, id: string, patch: { sync_not_before: Date; last_synced_at?: Date }) {
    await withTenant(deps.appDb, orgId, (tx) => dal.update(tx, orgId, id, patch));
  }

  async function syncAccount(
    orgId: string,
    id: string,
  ): Promise<'synced' | 'rate_limited' | 'failed' | 'skipped'> {
    const outcome = await syncOnce(orgId, id);
    if (outcome.platform && outcome.result !== 'skipped')
      deps.metrics?.syncs.inc({ platform: outcome.platform, outcome: outcome.result });
    return outcome.result;
  }

  type Outcome = { platform: string | null; result: 'synced' | 'rate_limited' | 'failed' | 'skipped' };
  async function syncOnce(orgId: string, id: string): Promise<Outcome> {
    let creds: Awaited<ReturnType<SocialTokens['credentials']>>;
    const row = await withTenant(deps.appDb, orgId, (tx) => dal.findById(tx, orgId, id));
    if (row?.status !== 'active') return { platform: null, result: 'skipped' };
    try {
      creds = await tokens.credentials(orgId, id);
      const posts = await platforms
        .forPlatform(row.platform)
        .recentPosts({ orgId, projectId: row.project_id }, creds);
      const now = clock.now();
      await withTenant(deps.appDb, orgId, async (tx) => {
        await dal.upsertPosts(
          tx,
          posts.map((p) => ({
            org_id: orgId,
            project_id: row.project_id,
            social_account_id: id,
            platform: row.platform,
            platform_post_id: p.platformPostId,
            caption: p.caption,
            permalink: p.permalink,
            published_at: p.publishedAt,
            views: p.views,
            likes: p.likes,
            comments: p.comments,
            shares: p.shares,
            collected_at: now,
          })),
        );
        await dal.update(tx, orgId, id, { last_synced_at: now, sync_not_before: nextSyncAt(id, now) });
      });
      return { platform: row.platform, result: 'synced' };
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      const now = clock.now().getTime();
      if (error.kind === 'reauth') {
        // The platform refused the token itself (Meta 190 on a read, TikTok access_token_invalid).
        await deps.onNeedsReconnect(orgId, id);
        return { platform: row.platform, result: 'failed' };
      }
      if (error.kind === 'rate_limited') {
        await setNext(orgId, id, {
          sync_not_before: new Date(now + Math.max(RATE_LIMIT_BACKOFF_MS, error.retryAfterMs ?? 0)),
        });
        return { platform: row.platform, result: 'rate_limited' };
      }
      await setNext(orgId, id, { sync_not_before: new Date(now + TRANSIENT_BACKOFF_MS) });
      return { platform: row.platform, result: 'failed' };
    }
  }

  return {
    syncAccount,

    /** One cron run: the accounts whose slot has come (at most a batch; the next run takes the rest). */
    async syncDue(logger?: Pick<Logger, 'info'>): Promise<Record<string, number>> {
      const now = clock.now();
      const due = await dal.dueForSync(deps.systemDb, now, new Date(now.getTime() - HOUR_MS / 2), BATCH);
      const counts: Record<string, number> = {};
      let next = 0;
      const lane = async () => {
        for (let a = due[next++]; a !== undefined; a = due[next++]) {
          const outcome = await syncAccount(a.org_id, a.id);
          counts[outcome] = (counts[outcome] ?? 0) + 1;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      if (due.length > 0) logger?.info({ social_sync: counts }, 'social post sync run');
      return counts;
    },

    /** Refreshes tokens inside the refresh margin (ahead of need) and deletes expired connect states. */
    async refreshDue(): Promise<{
      refreshed: number;
      failed: number;
      states_deleted: number;
      revoked: number;
    }> {
      const revoked = await deps.revokeInDeletedProjects();
      const now = clock.now();
      const statesDeleted = await dal.deleteExpiredStates(deps.systemDb, now);
      // Inside the refresh margin (10 minutes; the cron runs every 5): refreshed with 5+ minutes left.
      const soon = new Date(now.getTime() + REFRESH_MARGIN_MS);
      const rows = await dal.expiringSoon(deps.systemDb, soon, now, 100);
      let refreshed = 0;
      let failed = 0;
      for (const r of rows) {
        try {
          await tokens.credentials(r.org_id, r.id);
          refreshed++;
        } catch (error) {
          if (!(error instanceof PlatformError)) throw error;
          failed++;
        }
      }
      return { refreshed, failed, states_deleted: statesDeleted, revoked };
    },
  };
}

export type PostSync = ReturnType<typeof createPostSync>;
