import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.ts';
import { readAsTenant, withTenant } from '../../db/tenant-transaction.ts';
import { enqueueJob, removeJob } from '../../jobs/job-queue.ts';
import { type Clock, DAY_MS } from '../../lib/clock.ts';
import { notFound } from '../../lib/errors.ts';
import { isId } from '../../lib/ids.ts';
import { systemScope, type TenantScope } from '../../lib/scope.ts';
import type { PlatformRegistry } from '../../platforms/platform-registry.ts';
import type { SocialPlatformName, StoredCredentials } from '../../platforms/social-platform.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { SocialAccountRow, SocialAccountSecrets, SocialAccountsDal } from './social-accounts-dal.ts';
import type { SocialTokens } from './social-tokens.ts';

/**
 * Revocation. The platform's revoke endpoint is called first (outside any transaction); then, in one
 * transaction, the account is marked revoked and its ciphertext deleted. A failed platform call does
 * not keep the tokens: it is recorded (audit `platform_revoke: failed`) and retried from the job
 * queue (`social_accounts.revoke`) — Meta's without any token (the app token removes a login's
 * permissions), TikTok's and Google's with the token held only in that job's payload, as envelope
 * ciphertext, for at most 24 hours (the job drops it after that).
 *
 * Offboarding does the same for every account of the org at once (the jobs carry the calls, since
 * offboarding is one transaction); the platforms' own callbacks (Meta deauthorize / data deletion,
 * TikTok `authorization.removed`) mark the matching accounts revoked without a call back (the
 * platform has already ended the grant).
 */
export const REVOKE_TASK = 'social_accounts.revoke';
/**
 * graphile-worker waits e^min(attempt, 10) seconds after a failed attempt: the 14th attempt starts
 * about 28 h after the first, past the payload's 24 h, so the last attempt always drops the token
 * and succeeds (a job that failed for good would keep its payload in the queue).
 */
export const REVOKE_MAX_ATTEMPTS = 14;
/** Runs when a retry's 24 h end and removes the retry (and the token in its payload) from the queue. */
export const REVOKE_EXPIRE_TASK = 'social_accounts.revoke_expire';
const REVOKE_TOKEN_TTL_MS = DAY_MS;

export type RevokeJobPayload = {
  org_id: string;
  project_id: string;
  social_account_id: string;
  platform: SocialPlatformName;
  platform_user_id: string;
  grant_user_id: string | null;
  /** Envelope ciphertext of the token to revoke (TikTok: access, Google: refresh or access); null for Meta. */
  encrypted_token: string | null;
  expires_at: string;
};

type Reason = 'api' | 'offboarding' | 'platform' | 'project_deleted';

export function createSocialRevocation(deps: {
  appDb: Kysely<Database>;
  systemDb: Kysely<Database>;
  dal: SocialAccountsDal;
  platforms: PlatformRegistry;
  tokens: SocialTokens;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  clock: Clock;
}) {
  const { dal, platforms, tokens, auditLog, events, clock } = deps;

  /** The token a retry needs (none for Meta), sealed for the job payload. */
  function retryPayload(row: SocialAccountSecrets, creds: StoredCredentials, now: Date): RevokeJobPayload {
    const token = row.platform === 'youtube' ? (creds.refreshToken ?? creds.accessToken) : creds.accessToken;
    const needsToken = row.platform === 'tiktok' || row.platform === 'youtube';
    return {
      org_id: row.org_id,
      project_id: row.project_id,
      social_account_id: row.id,
      platform: row.platform,
      platform_user_id: row.platform_user_id,
      grant_user_id: row.grant_user_id,
      encrypted_token: needsToken && token ? tokens.sealForJob(row.org_id, row.id, token) : null,
      expires_at: new Date(now.getTime() + REVOKE_TOKEN_TTL_MS).toISOString(),
    };
  }

  async function lastForGrant(row: { id: string; grant_user_id: string | null }, excludeOrg?: string) {
    if (!row.grant_user_id) return true;
    if (excludeOrg)
      return (await dal.liveAccountsOfGrantOutsideOrg(deps.systemDb, row.grant_user_id, excludeOrg)) === 0;
    return (await dal.liveAccountsOfGrant(deps.systemDb, row.grant_user_id, row.id)) === 0;
  }

  /**
   * Queues the retry (one per account, by job key) and, at its payload's expiry, the job that
   * removes it: the token leaves the queue at 24 h whether or not the retry is still pending.
   */
  async function queueRetry(tx: Kysely<Database>, payload: RevokeJobPayload): Promise<void> {
    const jobKey = `social-revoke:${payload.social_account_id}`;
    await enqueueJob(tx, REVOKE_TASK, payload, { jobKey, maxAttempts: REVOKE_MAX_ATTEMPTS });
    await enqueueJob(
      tx,
      REVOKE_EXPIRE_TASK,
      { job_key: jobKey },
      { jobKey: `${jobKey}:expire`, runAt: new Date(payload.expires_at) },
    );
  }

  /** Marks revoked and deletes the ciphertext, with its audit entry and webhook, in `scope.tx`. */
  async function markRevoked(
    scope: TenantScope,
    id: string,
    reason: Reason,
    platformRevoke: 'done' | 'failed' | 'not_needed',
  ): Promise<SocialAccountRow | undefined> {
    const row = await dal.findSecrets(scope.tx, scope.orgId, id, true);
    if (!row) return undefined;
    if (row.status === 'revoked') return row;
    const updated = await dal.update(scope.tx, scope.orgId, id, {
      status: 'revoked',
      encrypted_access_token: null,
      encrypted_refresh_token: null,
      encrypted_user_access_token: null,
      user_token_expires_at: null,
      refresh_lease_id: null,
      refresh_lease_until: null,
      token_expires_at: null,
      refresh_expires_at: null,
      revoked_at: scope.now,
      updated_at: scope.now,
    });
    await auditLog.record(scope, {
      action: 'social_account.revoked',
      resource: { type: 'social_account', id },
      changes: {
        status: { before: row.status, after: 'revoked' },
        tokens: { after: '[deleted]' },
        reason: { after: reason },
        platform_revoke: { after: platformRevoke },
      },
    });
    await events.emit(scope, 'social_account.revoked', {
      id,
      object: 'social_account',
      project_id: row.project_id,
      platform: row.platform,
      status: 'revoked',
      reason,
    });
    return updated;
  }

  /** Step 1 (see below): the platform call, outside any transaction. */
  async function callPlatform(orgId: string, id: string, logger?: Pick<Logger, 'warn'>) {
    const row = isId('socialAccount', id)
      ? await readAsTenant(deps.appDb, orgId, (tx) => dal.findSecrets(tx, orgId, id))
      : undefined;
    if (!row) throw notFound('social account', 'socialAccountId');
    if (row.encrypted_access_token === null && row.encrypted_refresh_token === null)
      return { outcome: 'not_needed' as const, retry: null };
    const creds = tokens.credentialsOf(row);
    try {
      await platforms
        .forPlatform(row.platform)
        .revoke({ orgId, projectId: row.project_id }, creds, { lastForGrant: await lastForGrant(row) });
      return { outcome: 'done' as const, retry: null };
    } catch (error) {
      logger?.warn(
        { platform: row.platform, err_kind: (error as { kind?: string }).kind ?? 'error' },
        'platform revoke failed; retried from the job queue',
      );
      return { outcome: 'failed' as const, retry: retryPayload(row, creds, clock.now()) };
    }
  }

  return {
    callPlatform,

    /**
     * A project's deletion (its grace period starting) ends its accounts' grants: the cron revokes
     * them as DELETE would, so no token waits out the grace period.
     */
    async revokeInDeletedProjects(logger?: Pick<Logger, 'warn'>): Promise<number> {
      const rows = await dal.withTokensInDeletedProjects(deps.systemDb, 50);
      for (const r of rows) {
        const step1 = await callPlatform(r.org_id, r.id, logger);
        await withTenant(deps.appDb, r.org_id, async (tx) => {
          const scope = systemScope(tx, r.org_id, clock.now());
          await markRevoked(scope, r.id, 'project_deleted', step1.outcome);
          if (step1.retry) await queueRetry(tx, step1.retry);
        });
      }
      return rows.length;
    },

    /** Step 2, in the request's transaction: revoked, ciphertext gone, retry queued if needed. */
    async finishRevoke(
      scope: TenantScope,
      id: string,
      step1: { outcome: 'done' | 'failed' | 'not_needed'; retry: RevokeJobPayload | null },
    ): Promise<SocialAccountRow> {
      const row = await markRevoked(scope, id, 'api', step1.outcome);
      if (!row) throw notFound('social account', 'socialAccountId');
      if (step1.retry) await queueRetry(scope.tx, step1.retry);
      return row;
    },

    /** Offboarding (in its transaction, before the class's rows are deleted): every account revoked. */
    async onOffboard(scope: TenantScope): Promise<number> {
      const rows = await dal.withTokensForOrg(scope.tx, scope.orgId);
      const grantsQueued = new Set<string>();
      for (const row of rows) {
        const creds = tokens.credentialsOf(row);
        const payload = retryPayload(row, creds, scope.now);
        const isMeta = row.grant_user_id !== null;
        if (isMeta) {
          const grant = row.grant_user_id as string;
          if (!grantsQueued.has(grant) && (await lastForGrant(row, scope.orgId))) {
            grantsQueued.add(grant);
            await queueRetry(scope.tx, payload);
          }
        } else if (payload.encrypted_token) {
          await queueRetry(scope.tx, payload);
        }
        await markRevoked(scope, row.id, 'offboarding', 'failed');
      }
      return rows.length;
    },

    /** The platform ended the grant (deauthorize, data deletion, authorization.removed). */
    async revokeFromPlatform(
      by: { platforms: SocialPlatformName[]; platformUserId?: string; grantUserId?: string },
      opts: { deletePosts: boolean },
    ): Promise<number> {
      const accounts = await dal.findByPlatformIdentity(deps.systemDb, by);
      for (const a of accounts) {
        await withTenant(deps.appDb, a.org_id, async (tx) => {
          await markRevoked(systemScope(tx, a.org_id, clock.now()), a.id, 'platform', 'not_needed');
        });
      }
      if (opts.deletePosts)
        await dal.deletePostsOfAccounts(
          deps.systemDb,
          accounts.map((a) => a.id),
        );
      return accounts.length;
    },

    /** The expiry job: the retry (with its token) leaves the queue (system connection). */
    async expireRevokeJob(jobKey: string): Promise<void> {
      await removeJob(deps.systemDb, jobKey);
    },

    /** The retry job: one platform revoke call; throws to be retried; drops the token after 24 h. */
    async runRevokeJob(payload: RevokeJobPayload, logger: Pick<Logger, 'info' | 'warn'>): Promise<void> {
      if (new Date(payload.expires_at) <= clock.now()) {
        logger.warn(
          { platform: payload.platform },
          'platform revoke retry given up after 24 h (token dropped)',
        );
        return;
      }
      const token = payload.encrypted_token
        ? tokens.openFromJob(payload.org_id, payload.social_account_id, payload.encrypted_token)
        : null;
      const creds: StoredCredentials = {
        platform: payload.platform,
        platformUserId: payload.platform_user_id,
        grantUserId: payload.grant_user_id,
        accessToken: payload.platform === 'youtube' ? null : token,
        refreshToken: payload.platform === 'youtube' ? token : null,
      };
      await platforms
        .forPlatform(payload.platform)
        .revoke({ orgId: payload.org_id, projectId: payload.project_id }, creds, { lastForGrant: true });
      logger.info({ platform: payload.platform }, 'platform revoke retried successfully');
    },
  };
}

export type SocialRevocation = ReturnType<typeof createSocialRevocation>;
