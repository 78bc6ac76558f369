import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { enqueueJob } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { systemScope } from '../../lib/scope.ts';
import type { PublicationCheckpoint, PublishStep } from '../../platforms/publishing-port.ts';
import type { PublisherRegistry } from '../../platforms/publishing-registry.ts';
import { PlatformError } from '../../platforms/social-platform.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { MediaService } from '../media/media-service.ts';
import type { SocialAccountsDal } from '../social-accounts/social-accounts-dal.ts';
import type { SocialTokens } from '../social-accounts/social-tokens.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import { takeBudget } from './publishing-budget.ts';
import type { PublicationRow, PublishingDal } from './publishing-dal.ts';
import { publishableMedia } from './publishing-media.ts';
import { PUBLISHING_TASK, publishingJobKey } from './publishing-service.ts';

/** Waits this short are slept in the job; longer ones end the run and queue the next for later. */
const INLINE_WAIT_MAX_MS = 1_000;
const TRANSIENT_MAX_ATTEMPTS = 5;
/** Rate limits in a row for longer than this fail the publication (`platform_rate_limited`). */
const RATE_LIMITED_MAX_MS = 60 * 60_000;
const RATE_LIMIT_DEFAULT_WAIT_MS = 60_000;

type Failure = { code: string; message: string; platformCode: string | null };

const REFUSAL_MESSAGES: Record<string, string> = {
  media_rejected: 'The platform rejected the media (format, size or duration).',
  publishing_cap_reached: "The account reached the platform's publishing cap: try again after it resets.",
  privacy_level_not_allowed: 'The platform does not allow this privacy level for this account.',
  unsupported_media: 'The platform does not publish this kind of media.',
  publication_expired: 'The platform let the upload expire before it was published.',
};

/** Where the platform's own code says more than the API's code, the answer says that instead. */
const PLATFORM_CODE_MESSAGES: Record<string, string> = {
  unaudited_client_can_only_post_to_private_accounts:
    'TikTok has not audited this app yet, and an unaudited app can only post with privacy SELF_ONLY from a private account: publish with privacy "SELF_ONLY" from a private account, or have the app audited by TikTok.',
};

/**
 * Runs publications (the `publishing.step` job): steps the platform's state machine
 * (publishing-port.ts), storing each step's checkpoint and status in one write before the next step,
 * under a lease that makes this process the publication's only runner. A killed worker's lease runs
 * out; `recover` (cron and worker start) queues the job again and the next runner resumes from the
 * stored checkpoint, where the adapter looks up what the killed runner may have created.
 *
 * Errors: reauth (or an account no longer active) → `failed` with `account_needs_reconnect` and the
 * account marked needs_reconnect; rate limits → wait the platform's Retry-After (else a minute),
 * `platform_rate_limited` after an hour of them in a row; transient → up to 5 attempts with
 * backoff, then `platform_unavailable`; refused → the adapter's code (else `platform_refused`), the
 * platform's own code kept. Messages are ours: never a token, a URL or a body.
 */
export function createPublishingRunner(deps: {
  db: Kysely<Database>;
  dal: PublishingDal;
  socialDal: SocialAccountsDal;
  publishers: PublisherRegistry;
  tokens: SocialTokens;
  media: MediaService;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  onNeedsReconnect: (orgId: string, accountId: string) => Promise<void>;
  clock: Clock;
  leaseMs: number;
  sleep?: (ms: number) => Promise<void>;
}) {
  const { db, dal, clock } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const later = (ms: number) => new Date(clock.now().getTime() + ms);

  /** Takes the lease, or answers when to look again (another runner holds it), or null (nothing to do). */
  async function claim(orgId: string, id: string) {
    return withTenant(db, orgId, async (tx) => {
      const row = await dal.find(tx, orgId, id, true);
      if (!row || !['queued', 'uploading', 'processing'].includes(row.status)) return null;
      const now = clock.now();
      if (row.lease_until && row.lease_until > now) return { busyUntil: row.lease_until };
      const leaseId = randomUUID();
      await dal.update(tx, orgId, id, {
        lease_id: leaseId,
        lease_until: later(deps.leaseMs),
        updated_at: now,
      });
      return { row, leaseId };
    });
  }

  const requeue = (tx: Kysely<Database>, row: { id: string; org_id: string }, runAt: Date) =>
    enqueueJob(
      tx,
      PUBLISHING_TASK,
      { org_id: row.org_id, publication_id: row.id },
      { jobKey: publishingJobKey(row.id), runAt },
    );

  /** Ends the run: releases the lease and queues the next run at `runAt`. */
  async function pause(
    row: PublicationRow,
    leaseId: string,
    patch: { attempts?: number; rate_limited_since?: Date | null },
    runAt: Date,
  ) {
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

  const eventBase = (row: PublicationRow) => ({
    id: row.id,
    object: 'publication' as const,
    project_id: row.project_id,
    social_account_id: row.social_account_id,
    platform: row.platform,
  });

  /** Marks the publication published, with its audit entry, webhook and the post in the account's posts. */
  async function published(
    row: PublicationRow,
    leaseId: string,
    step: Extract<PublishStep, { status: 'published' }>,
  ) {
    await withTenant(db, row.org_id, async (tx) => {
      const now = clock.now();
      const ok = await dal.update(
        tx,
        row.org_id,
        row.id,
        {
          status: 'published',
          checkpoint: step.checkpoint,
          platform_post_id: step.platformPostId,
          permalink: step.permalink,
          steps: row.steps + 1,
          attempts: 0,
          rate_limited_since: null,
          lease_id: null,
          lease_until: null,
          next_step_at: null,
          updated_at: now,
          published_at: now,
          completed_at: now,
        },
        leaseId,
      );
      if (!ok) return;
      await deps.socialDal.upsertPosts(tx, [
        {
          org_id: row.org_id,
          project_id: row.project_id,
          social_account_id: row.social_account_id,
          platform: row.platform,
          platform_post_id: step.platformPostId,
          caption: row.caption,
          permalink: step.permalink,
          published_at: now,
          views: null,
          likes: null,
          comments: null,
          shares: null,
          collected_at: now,
        },
      ]);
      const scope = systemScope(tx, row.org_id, now);
      await deps.auditLog.record(scope, {
        action: 'publication.published',
        resource: { type: 'publication', id: row.id },
        changes: {
          status: { before: row.status, after: 'published' },
          platform_post_id: { after: step.platformPostId },
        },
      });
      await deps.events.emit(scope, 'publication.published', {
        ...eventBase(row),
        status: 'published',
        platform_post_id: step.platformPostId,
        permalink: step.permalink,
      });
    });
  }

  async function failed(row: PublicationRow, leaseId: string, failure: Failure) {
    await withTenant(db, row.org_id, async (tx) => {
      const now = clock.now();
      const ok = await dal.update(
        tx,
        row.org_id,
        row.id,
        {
          status: 'failed',
          error_code: failure.code,
          error_message: failure.message.slice(0, 500),
          error_platform_code: failure.platformCode?.slice(0, 60) ?? null,
          lease_id: null,
          lease_until: null,
          next_step_at: null,
          updated_at: now,
          completed_at: now,
        },
        leaseId,
      );
      if (!ok) return;
      const scope = systemScope(tx, row.org_id, now);
      await deps.auditLog.record(scope, {
        action: 'publication.failed',
        resource: { type: 'publication', id: row.id },
        changes: { status: { before: row.status, after: 'failed' }, error_code: { after: failure.code } },
      });
      await deps.events.emit(scope, 'publication.failed', {
        ...eventBase(row),
        status: 'failed',
        error_code: failure.code,
      });
    });
  }

  /** Stores a step's checkpoint and status in one write (and renews the lease); false when the lease was lost. */
  const store = (row: PublicationRow, leaseId: string, step: Exclude<PublishStep, { status: 'published' }>) =>
    withTenant(db, row.org_id, (tx) =>
      dal.update(
        tx,
        row.org_id,
        row.id,
        {
          status: step.status,
          checkpoint: step.checkpoint,
          steps: row.steps + 1,
          attempts: 0,
          rate_limited_since: null,
          lease_until: later(deps.leaseMs),
          updated_at: clock.now(),
        },
        leaseId,
      ),
    );

  const renew = (row: PublicationRow, leaseId: string) =>
    withTenant(db, row.org_id, (tx) =>
      dal.update(tx, row.org_id, row.id, { lease_until: later(deps.leaseMs) }, leaseId),
    );

  const needsReconnect = (platformCode: string | null): Failure => ({
    code: 'account_needs_reconnect',
    message: 'The platform refused the social account’s token: reconnect the account, then publish again.',
    platformCode,
  });

  async function drive(first: PublicationRow, leaseId: string): Promise<void> {
    const publisher = deps.publishers.forPlatform(first.platform);
    if (!publisher)
      return failed(first, leaseId, {
        code: 'platform_unavailable',
        message: 'Publishing to this platform is not available.',
        platformCode: null,
      });
    const ctx = { orgId: first.org_id, projectId: first.project_id };
    let row = first;
    for (;;) {
      const gate = await withTenant(db, row.org_id, async (tx) => {
        const account = await deps.socialDal.findById(tx, row.org_id, row.social_account_id);
        if (account?.status !== 'active') return 'reconnect' as const;
        const kind = Object.keys(row.checkpoint).length === 0 ? 'init' : 'step';
        return takeBudget(tx, row, kind, clock.now());
      });
      if (gate === 'reconnect') return failed(row, leaseId, needsReconnect(null));
      if (gate) return pause(row, leaseId, {}, gate);
      const credentials = await deps.tokens.credentials(row.org_id, row.social_account_id);
      const mediaRow = await withTenant(db, row.org_id, (tx) =>
        deps.media.get(systemScope(tx, row.org_id, clock.now()), row.media_id),
      );
      // A chunk upload can outlast the lease: renew it while the step runs (a killed worker stops
      // renewing, so its lease still runs out within leaseMs).
      const heartbeat = setInterval(() => void renew(row, leaseId).catch(() => undefined), deps.leaseMs / 3);
      const step = await publisher
        .step(ctx, credentials, {
          publicationId: row.id,
          media: publishableMedia(deps.media, mediaRow, () => clock.now()),
          caption: row.caption,
          privacy: row.privacy,
          checkpoint: row.checkpoint,
        })
        .finally(() => clearInterval(heartbeat));
      if (step.status === 'published') return published(row, leaseId, step);
      if (!(await store(row, leaseId, step))) return;
      row = {
        ...row,
        status: step.status,
        checkpoint: step.checkpoint as PublicationCheckpoint,
        steps: row.steps + 1,
        attempts: 0,
        rate_limited_since: null,
      };
      if (step.retryAfterMs > INLINE_WAIT_MAX_MS) return pause(row, leaseId, {}, later(step.retryAfterMs));
      if (step.retryAfterMs > 0) await sleep(step.retryAfterMs);
    }
  }

  async function onError(first: PublicationRow, leaseId: string, error: unknown): Promise<void> {
    const row = (await withTenant(db, first.org_id, (tx) => dal.find(tx, first.org_id, first.id))) ?? first;
    if (row.lease_id !== leaseId) return;
    // Anything else (the database, the media store) is retried like a transient platform failure.
    const e =
      error instanceof PlatformError ? error : new PlatformError('transient', 'publishing step failed');
    const platformCode = e.vendorCode;
    if (e.kind === 'reauth') {
      // The account first: a worker killed between the two writes leaves the publication in progress,
      // and its next run fails it on the account's status. The other order could leave a publication
      // failed for a token the account is still shown `active` with.
      await deps.onNeedsReconnect(row.org_id, row.social_account_id);
      return failed(row, leaseId, needsReconnect(platformCode));
    }
    if (e.kind === 'rate_limited') {
      const since = row.rate_limited_since ?? clock.now();
      if (clock.now().getTime() - since.getTime() >= RATE_LIMITED_MAX_MS)
        return failed(row, leaseId, {
          code: 'platform_rate_limited',
          message: 'The platform kept rate-limiting this account for an hour: publish again later.',
          platformCode,
        });
      return pause(
        row,
        leaseId,
        { rate_limited_since: since },
        later(e.retryAfterMs ?? RATE_LIMIT_DEFAULT_WAIT_MS),
      );
    }
    if (e.kind === 'transient' && row.attempts + 1 < TRANSIENT_MAX_ATTEMPTS)
      return pause(row, leaseId, { attempts: row.attempts + 1 }, later(backoff(row.attempts)));
    const code = e.kind === 'transient' ? 'platform_unavailable' : (e.apiCode ?? 'platform_refused');
    await failed(row, leaseId, {
      code,
      message:
        (platformCode ? PLATFORM_CODE_MESSAGES[platformCode] : undefined) ??
        REFUSAL_MESSAGES[code] ??
        (e.kind === 'transient'
          ? 'The platform kept failing (5 attempts): publish again later.'
          : 'The platform refused the publication; its code is in platform_code.'),
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
        await withTenant(db, orgId, (tx) => requeue(tx, { id, org_id: orgId }, busyUntil));
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

    /** Queues a run for every publication still in progress (cron and worker start): resumes killed runs. */
    async recover(): Promise<number> {
      const rows = await dal.active(db);
      const now = clock.now();
      for (const r of rows) {
        const at = [r.lease_until, r.next_step_at].reduce<Date>((m, d) => (d && d > m ? d : m), now);
        await withTenant(db, r.org_id, (tx) => requeue(tx, r, at));
      }
      return rows.length;
    },
  };
}

export type PublishingRunner = ReturnType<typeof createPublishingRunner>;
