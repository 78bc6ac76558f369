import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { enqueueJob } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { systemScope } from '../../lib/scope.ts';
import type { AdCheckpoint, AdDeployer, AdDeployRequest } from '../../platforms/ads-port.ts';
import { PlatformError, type StoredCredentials } from '../../platforms/social-platform.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { MediaService } from '../media/media-service.ts';
import type { SocialTokens } from '../social-accounts/social-tokens.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { AdDeploymentRow, AdsDal } from './ads-dal.ts';
import { ADS_TASK, ADVERTISER_TOKEN_FIELD, adsJobKey } from './ads-service.ts';

/** Waits this short are slept in the job; longer ones end the run and queue the next for later. */
const INLINE_WAIT_MAX_MS = 5_000;
const TRANSIENT_MAX_ATTEMPTS = 5;
/** A `grant_user` deployer (Meta) on an account connected before its login's user token was kept (0026). */
const NO_USER_TOKEN_MESSAGE =
  'The social account was connected before ads access was kept: the ad account takes the login’s user token, not the Page’s. Reconnect the account to grant ads access, then retry.';

/**
 * Runs ad deployments (the `ads.deploy` job): steps the platform's state machine (ads-port.ts),
 * storing each step's checkpoint before the next step, under a lease that makes this process the
 * deployment's only runner. A killed worker's lease runs out; `recover` (cron and worker start)
 * queues the job again and the next runner resumes from the stored checkpoint, where the adapter
 * looks up by name what the killed runner may have created after its last store.
 *
 * Errors as in publishing: reauth → `failed` with `account_needs_reconnect` (and the account is
 * marked needs_reconnect), rate limits → the step waits (the platform's Retry-After, else
 * `rateLimitWaitMs`), transient → up to 5 attempts with backoff, then `platform_unavailable`;
 * refused → `failed` with the adapter's code (else `platform_refused`), the platform's code kept.
 */
export function createAdsRunner(deps: {
  db: Kysely<Database>;
  dal: AdsDal;
  deployers: Partial<Record<'meta' | 'tiktok', AdDeployer>>;
  tokens: SocialTokens;
  envelope: Envelope;
  media: MediaService;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  onNeedsReconnect: (orgId: string, accountId: string) => Promise<void>;
  clock: Clock;
  leaseMs: number;
  rateLimitWaitMs: number;
  sleep?: (ms: number) => Promise<void>;
}) {
  const { db, dal, clock } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const later = (ms: number) => new Date(clock.now().getTime() + ms);

  /** Takes the lease, or answers when to look again (another runner holds it) or null (nothing to do). */
  async function claim(orgId: string, id: string) {
    return withTenant(db, orgId, async (tx) => {
      const row = await dal.find(tx, orgId, id, true);
      if (!row || !['queued', 'creating', 'cancelling'].includes(row.status)) return null;
      const now = clock.now();
      if (row.lease_until && row.lease_until > now) return { busyUntil: row.lease_until };
      const leaseId = randomUUID();
      const status = row.status === 'queued' ? 'creating' : row.status;
      await dal.update(tx, orgId, id, {
        lease_id: leaseId,
        lease_until: later(deps.leaseMs),
        status,
        updated_at: now,
      });
      return { row: { ...row, status }, leaseId };
    });
  }

  const requeue = (tx: Kysely<Database>, row: AdDeploymentRow, runAt: Date) =>
    enqueueJob(
      tx,
      ADS_TASK,
      { org_id: row.org_id, ad_deployment_id: row.id },
      { jobKey: adsJobKey(row.id), runAt },
    );

  /** Ends the run: releases the lease and, when `runAt` is given, queues the next one. */
  async function pause(row: AdDeploymentRow, leaseId: string, patch: { attempts?: number }, runAt: Date) {
    await withTenant(db, row.org_id, async (tx) => {
      const ok = await dal.update(
        tx,
        row.org_id,
        row.id,
        { ...patch, lease_id: null, lease_until: null, next_step_at: runAt, updated_at: clock.now() },
        leaseId,
      );
      if (ok) await requeue(tx, row, runAt);
    });
  }

  async function finish(
    row: AdDeploymentRow,
    leaseId: string,
    outcome:
      | { status: 'created' | 'cancelled'; checkpoint: AdCheckpoint }
      | { status: 'failed'; code: string; message: string; platformCode: string | null },
  ) {
    await withTenant(db, row.org_id, async (tx) => {
      const now = clock.now();
      const ok = await dal.update(
        tx,
        row.org_id,
        row.id,
        {
          status: outcome.status,
          lease_id: null,
          lease_until: null,
          next_step_at: null,
          attempts: 0,
          updated_at: now,
          completed_at: now,
          ...(outcome.status === 'failed'
            ? {
                error_code: outcome.code,
                error_message: outcome.message.slice(0, 500),
                error_platform_code: outcome.platformCode,
              }
            : { checkpoint: outcome.checkpoint }),
          // Nothing is left at the platform for the advertiser token to act on.
          ...(outcome.status === 'cancelled' ? { encrypted_advertiser_token: null } : {}),
        },
        leaseId,
      );
      if (!ok) return;
      const scope = systemScope(tx, row.org_id, now);
      await deps.auditLog.record(scope, {
        action: `ad_deployment.${outcome.status}`,
        resource: { type: 'ad_deployment', id: row.id },
        changes: {
          status: { before: row.status, after: outcome.status },
          ...(outcome.status === 'failed' ? { error_code: { after: outcome.code } } : {}),
        },
      });
      const base = {
        id: row.id,
        object: 'ad_deployment' as const,
        project_id: row.project_id,
        platform: row.platform,
      };
      if (outcome.status === 'created')
        await deps.events.emit(scope, 'ad_deployment.created', { ...base, status: 'created' });
      if (outcome.status === 'failed')
        await deps.events.emit(scope, 'ad_deployment.failed', {
          ...base,
          status: 'failed',
          error_code: outcome.code,
        });
    });
  }

  /** Stores a step's checkpoint (and renews the lease); false when the lease was lost. */
  const store = (row: AdDeploymentRow, leaseId: string, checkpoint: AdCheckpoint) =>
    withTenant(db, row.org_id, (tx) =>
      dal.update(
        tx,
        row.org_id,
        row.id,
        { checkpoint, attempts: 0, lease_until: later(deps.leaseMs), updated_at: clock.now() },
        leaseId,
      ),
    );

  async function request(row: AdDeploymentRow): Promise<AdDeployRequest> {
    const media = await withTenant(db, row.org_id, (tx) =>
      deps.media.get(systemScope(tx, row.org_id, clock.now()), row.media_id),
    );
    return {
      deploymentId: row.id,
      createdAt: row.created_at,
      adAccountId: row.ad_account_id,
      displayName: row.display_name,
      headline: row.headline,
      body: row.body,
      dailyBudgetCents: row.daily_budget_cents,
      countries: row.countries,
      checkpoint: row.checkpoint,
      media: {
        id: media.id,
        kind: media.kind,
        contentType: media.content_type,
        bytes: Number(media.bytes),
        publicUrl: () => deps.media.toResponse(media, clock.now()).url,
      },
    };
  }

  /** The token the deployer's calls carry: the connected account's login's, or the deployment's own advertiser token. */
  async function credentialsFor(deployer: AdDeployer, row: AdDeploymentRow): Promise<StoredCredentials> {
    if (deployer.token !== 'advertiser') return deps.tokens.credentials(row.org_id, row.social_account_id);
    const sealed = row.encrypted_advertiser_token;
    return {
      platform: 'tiktok',
      platformUserId: row.ad_account_id,
      grantUserId: null,
      accessToken: sealed
        ? deps.envelope.decrypt(sealed, {
            orgId: row.org_id,
            recordId: row.id,
            field: ADVERTISER_TOKEN_FIELD,
          })
        : null,
      refreshToken: null,
    };
  }

  /**
   * Why a `grant_user` deployer (Meta) cannot run without a reconnect: no user token (connected
   * before 0026), or one past its expiry (0028), which Meta would only answer with a 190.
   */
  function reconnectMessage(deployer: AdDeployer, credentials: StoredCredentials): string | null {
    if (deployer.token !== 'grant_user') return null;
    if (!credentials.grantUserToken) return NO_USER_TOKEN_MESSAGE;
    const expiresAt = credentials.grantUserTokenExpiresAt;
    if (expiresAt && expiresAt <= clock.now())
      return `The social account's ads access expired on ${expiresAt.toISOString()} (the login's user token lasts about 60 days). Reconnect the account to renew it, then retry.`;
    return null;
  }

  async function drive(row: AdDeploymentRow, leaseId: string): Promise<void> {
    const deployer = deps.deployers[row.platform];
    if (!deployer)
      return finish(row, leaseId, {
        status: 'failed',
        code: 'platform_unavailable',
        message: 'No adapter for this platform.',
        platformCode: null,
      });
    const ctx = { orgId: row.org_id, projectId: row.project_id };
    let checkpoint = row.checkpoint;
    for (;;) {
      // A cancel may arrive while the deployment is being created: read the status before each step.
      const current = await withTenant(db, row.org_id, (tx) => dal.find(tx, row.org_id, row.id));
      if (!current || current.lease_id !== leaseId) return;
      const credentials = await credentialsFor(deployer, current);
      // Not a refusal by the platform (nothing was called): the account lacks what only a reconnect gives.
      const reconnect = reconnectMessage(deployer, credentials);
      if (reconnect)
        return finish(current, leaseId, {
          status: 'failed',
          code: 'account_needs_reconnect',
          message: reconnect,
          platformCode: null,
        });
      if (current.status === 'cancelling') {
        await deployer.rollback(ctx, credentials, {
          deploymentId: row.id,
          createdAt: row.created_at,
          adAccountId: row.ad_account_id,
          checkpoint,
        });
        return finish(current, leaseId, { status: 'cancelled', checkpoint: {} });
      }
      const step = await deployer.step(ctx, credentials, { ...(await request(current)), checkpoint });
      checkpoint = step.checkpoint;
      if (step.status === 'created') return finish(current, leaseId, step);
      if (!(await store(current, leaseId, checkpoint))) return;
      if (step.retryAfterMs > INLINE_WAIT_MAX_MS)
        return pause(current, leaseId, {}, later(step.retryAfterMs));
      if (step.retryAfterMs > 0) await sleep(step.retryAfterMs);
    }
  }

  async function onError(row: AdDeploymentRow, leaseId: string, error: unknown): Promise<void> {
    const latest = (await withTenant(db, row.org_id, (tx) => dal.find(tx, row.org_id, row.id))) ?? row;
    // Anything else (the database, the media store) is retried like a transient platform failure.
    const e =
      error instanceof PlatformError ? error : new PlatformError('transient', 'ad deployment step failed');
    const platformCode = e.vendorCode;
    if (e.kind === 'reauth') {
      // An advertiser token is the deployment's own: the connected account itself is not at fault.
      const own = deps.deployers[row.platform]?.token === 'advertiser';
      await finish(latest, leaseId, {
        status: 'failed',
        code: 'account_needs_reconnect',
        message: own
          ? 'The platform refused the advertiser access token (invalid, expired or revoked): authorize the advertiser again.'
          : 'The platform refused the social account’s token: reconnect the account, then retry.',
        platformCode,
      });
      if (!own) await deps.onNeedsReconnect(row.org_id, row.social_account_id);
      return;
    }
    if (e.kind === 'rate_limited')
      return pause(latest, leaseId, {}, later(e.retryAfterMs ?? deps.rateLimitWaitMs));
    if (e.kind === 'transient' && latest.attempts + 1 < TRANSIENT_MAX_ATTEMPTS)
      return pause(latest, leaseId, { attempts: latest.attempts + 1 }, later(backoff(latest.attempts)));
    await finish(latest, leaseId, {
      status: 'failed',
      code: e.kind === 'transient' ? 'platform_unavailable' : (e.apiCode ?? 'platform_refused'),
      message:
        latest.status === 'cancelling'
          ? `Cancelling failed at the platform (${e.kind}): cancel again (objects already deleted count as done).`
          : `The platform refused a step (${e.kind}); what exists is in platform_ids: retry or cancel.`,
      platformCode,
    });
  }

  const backoff = (attempts: number) => Math.min(5 * 60_000, 2_000 * 2 ** attempts);

  return {
    async run(orgId: string, id: string): Promise<void> {
      const claimed = await claim(orgId, id);
      if (!claimed) return;
      if ('busyUntil' in claimed) {
        // Another runner (or a killed one, whose lease will run out) has it: look again then.
        const busyUntil = claimed.busyUntil ?? clock.now();
        await withTenant(db, orgId, async (tx) => {
          const row = await dal.find(tx, orgId, id);
          if (row) await requeue(tx, row, busyUntil);
        });
        return;
      }
      const { row, leaseId } = claimed;
      if (row.next_step_at && row.next_step_at > clock.now())
        return pause(row, leaseId, {}, row.next_step_at);
      try {
        await drive(row, leaseId);
      } catch (error) {
        await onError(row, leaseId, error);
      }
    },

    /** Queues a run for every deployment still in progress (cron and worker start): resumes killed runs. */
    async recover(): Promise<number> {
      const rows = await dal.active(db);
      const now = clock.now();
      for (const r of rows) {
        const at = [r.lease_until, r.next_step_at].reduce<Date>((m, d) => (d && d > m ? d : m), now);
        await withTenant(db, r.org_id, (tx) =>
          enqueueJob(
            tx,
            ADS_TASK,
            { org_id: r.org_id, ad_deployment_id: r.id },
            { jobKey: adsJobKey(r.id), runAt: at },
          ),
        );
      }
      return rows.length;
    },
  };
}

export type AdsRunner = ReturnType<typeof createAdsRunner>;
