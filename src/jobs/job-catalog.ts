import type { Logger } from 'pino';
import { type Static, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import type { Container } from '../container.ts';
import { ADS_TASK } from '../modules/ads/ads-service.ts';
import { GENERATION_TASK } from '../modules/generation/generation-service.ts';
import { ensureEventPartitions } from '../modules/ingest/event-partitions.ts';
import { PUBLISHING_TASK } from '../modules/publishing/publishing-service.ts';
import {
  REVOKE_EXPIRE_TASK,
  REVOKE_MAX_ATTEMPTS,
  REVOKE_TASK,
} from '../modules/social-accounts/social-revocation.ts';
import { runErasureJob } from '../modules/subjects/erasure-job.ts';
import { runDeliveryJob } from '../modules/webhooks/webhook-delivery-job.ts';
import { DELIVER_JOB_MAX_ATTEMPTS, DELIVER_TASK } from '../modules/webhooks/webhook-delivery-queue.ts';

/**
 * The typed job catalog: every background job, its payload schema, its retry budget and, for
 * scheduled jobs, its cron line. Cron handlers are idempotent: a missed or doubled run is harmless.
 * Payloads carry ids only, never personal data.
 */
/** `attempt`: this run's attempt number (1 for the first), from the queue. */
export type JobContext = { logger: Logger; container: Container; attempt?: number };

export type JobDefinition<S extends TSchema = TSchema> = {
  name: string;
  payload: S;
  maxAttempts: number;
  cron?: string;
  /**
   * Also queued (with an empty payload) this long after every worker start: for recovery jobs that
   * pick up what a killed worker left, without waiting for their cron.
   */
  startupDelayMs?: (container: Container) => number;
  run(payload: Static<S>, ctx: JobContext): Promise<void>;
};

const defineJob = <S extends TSchema>(job: JobDefinition<S>): JobDefinition =>
  job as unknown as JobDefinition;

/** Cron jobs receive graphile-worker's `{ _cron: { ts, backfilled } }` payload. */
const CronPayload = Type.Object({ _cron: Type.Optional(Type.Object({ ts: Type.String() })) });

/**
 * The minute cron of a leased state machine (publications, ad deployments): re-queues the rows a
 * killed worker left in progress once their lease runs out, and runs soon after every worker start.
 */
const recoverJob = (name: string, recover: (container: Container) => Promise<unknown>) =>
  defineJob({
    name,
    payload: CronPayload,
    maxAttempts: 3,
    cron: '* * * * *',
    startupDelayMs: () => 500,
    async run(_payload, { container }) {
      await recover(container);
    },
  });

export const JOB_CATALOG: readonly JobDefinition[] = [
  defineJob({
    // One destination's due forward-queue rows (modules/destinations/forwarder.ts); woken by ingest.
    name: 'capi.forward',
    payload: Type.Object({ org_id: Type.String(), destination_id: Type.String() }),
    maxAttempts: 5,
    async run(payload, { container }) {
      await container.forwarder.run(payload);
    },
  }),
  defineJob({
    // Expires forward-queue rows older than 72 h (counted) and wakes destinations whose rows are due
    // again (a killed worker's lease ran out, a backoff ended).
    name: 'capi.sweep',
    payload: CronPayload,
    maxAttempts: 3,
    cron: '* * * * *',
    // Soon after a worker start: a killed worker's destination locks died with its connections.
    startupDelayMs: (container) => container.forwarder.recoveryDelayMs,
    async run(_payload, { container, logger }) {
      const { expired, woken } = await container.forwarder.sweep();
      if (expired > 0 || woken > 0) logger.info({ expired, woken }, 'capi forward queue swept');
    },
  }),
  defineJob({
    // One attempt at a generation (copy, render, store); the row holds its status. Retryable failures
    // are rethrown until the last attempt (LAYERS_GENERATION_MAX_ATTEMPTS, set when it is queued).
    name: GENERATION_TASK,
    payload: Type.Object({ org_id: Type.String(), generation_id: Type.String() }),
    maxAttempts: 3,
    async run(payload, { container, attempt }) {
      await container.generations.run(payload.org_id, payload.generation_id, attempt ?? 1);
    },
  }),
  defineJob({
    // Payload: ids only; the erasure reads the user id from the request row and clears it when done.
    name: 'dsr.erase',
    payload: Type.Object({ org_id: Type.String(), dsr_id: Type.String() }),
    maxAttempts: 25,
    async run(payload, { container }) {
      await runErasureJob(
        { db: container.dbs.system, erasure: container.erasure, watchdogMs: container.config.jobWatchdogMs },
        payload,
      );
    },
  }),
  defineJob({
    // One attempt at a webhook delivery; the delivery row holds its schedule and history.
    name: DELIVER_TASK,
    payload: Type.Object({ org_id: Type.String(), delivery_id: Type.String() }),
    maxAttempts: DELIVER_JOB_MAX_ATTEMPTS,
    async run(payload, { container, logger }) {
      await runDeliveryJob(container.webhookDispatch, payload, logger);
    },
  }),
  defineJob({
    // Gives a fresh job to webhook deliveries a killed worker left locked (see webhook-dispatch-service.ts).
    name: 'webhooks.recover',
    payload: CronPayload,
    maxAttempts: 3,
    cron: '* * * * *',
    startupDelayMs: (container) => container.webhookDispatch.recoveryDelayMs,
    async run(_payload, { container, logger }) {
      const recovered = await container.webhookDispatch.recover();
      if (recovered > 0) logger.info({ recovered }, 'webhook deliveries re-armed');
    },
  }),
  defineJob({
    // Keeps sdk_events partitions months ahead of the clock (boot does it too): without it, a server
    // up for longer than MONTHS_AHEAD would put events into the default partition.
    name: 'sdk_events.partitions',
    payload: CronPayload,
    maxAttempts: 5,
    cron: '23 3 * * *',
    async run(_payload, { container, logger }) {
      const created = await ensureEventPartitions(container.dbs.system, container.clock.now());
      if (created.length > 0) logger.info({ partitions: created }, 'sdk_events partitions created');
    },
  }),
  defineJob({
    // API.md: a stored response carrying a secret is deleted when its replay window ends.
    name: 'idempotency.expire_secrets',
    payload: CronPayload,
    maxAttempts: 3,
    cron: '* * * * *',
    async run(_payload, { container, logger }) {
      const deleted = await container.idempotency.deleteExpiredSecrets();
      if (deleted > 0) logger.info({ deleted }, 'expired secret-bearing idempotency entries deleted');
    },
  }),
  defineJob({
    name: 'retention.sweep',
    payload: CronPayload,
    maxAttempts: 5,
    cron: '7 * * * *',
    async run(_payload, { container, logger }) {
      const report = await container.retentionSweeper.sweep();
      // Counts per data class and partition names only: never a row, an org or a user.
      logger.info({ retention: report }, 'retention sweep finished');
    },
  }),
  defineJob({
    // A platform revoke call that failed when the account was revoked (or every account of an
    // offboarded org): Meta's carries no token; TikTok's and Google's carry it as envelope
    // ciphertext, dropped once expires_at (24 h) has passed. The exception to "ids only".
    name: REVOKE_TASK,
    payload: Type.Object({
      org_id: Type.String(),
      project_id: Type.String(),
      social_account_id: Type.String(),
      platform: Type.Union([
        Type.Literal('tiktok'),
        Type.Literal('instagram'),
        Type.Literal('facebook'),
        Type.Literal('youtube'),
      ]),
      platform_user_id: Type.String(),
      grant_user_id: Type.Union([Type.String(), Type.Null()]),
      encrypted_token: Type.Union([Type.String(), Type.Null()]),
      expires_at: Type.String(),
    }),
    // Graphile's backoff puts the last attempt past the payload's 24 h: it drops the token.
    maxAttempts: REVOKE_MAX_ATTEMPTS,
    async run(payload, { container, logger }) {
      await container.socialAccounts.revocation.runRevokeJob(payload, logger);
    },
  }),
  defineJob({
    // At a revoke retry's 24 h: removes it from the queue, and with it the token in its payload.
    name: REVOKE_EXPIRE_TASK,
    payload: Type.Object({ job_key: Type.String({ pattern: '^social-revoke:' }) }),
    maxAttempts: 10,
    async run(payload, { container }) {
      await container.socialAccounts.revocation.expireRevokeJob(payload.job_key);
    },
  }),
  defineJob({
    // Each active account about once an hour, at its own minute (spread over the hour).
    name: 'social_accounts.sync',
    payload: CronPayload,
    maxAttempts: 3,
    cron: '*/5 * * * *',
    async run(_payload, { container, logger }) {
      await container.socialAccounts.sync.syncDue(logger);
    },
  }),
  defineJob({
    // Tokens that expire within 10 minutes are refreshed ahead of need; expired connect states go.
    name: 'social_accounts.refresh',
    payload: CronPayload,
    maxAttempts: 3,
    cron: '*/5 * * * *',
    async run(_payload, { container, logger }) {
      const r = await container.socialAccounts.sync.refreshDue();
      if (r.refreshed + r.failed + r.states_deleted > 0)
        logger.info({ social_refresh: r }, 'social token refresh run');
    },
  }),
  defineJob({
    // One run of a publication's state machine (modules/publishing/publishing-runner.ts); the row holds
    // its checkpoint and lease, the runner queues its own next run (platform waits, processing, budgets).
    name: PUBLISHING_TASK,
    payload: Type.Object({ org_id: Type.String(), publication_id: Type.String() }),
    maxAttempts: 5,
    async run(payload, { container }) {
      await container.publishing.runner.run(payload.org_id, payload.publication_id);
    },
  }),
  recoverJob('publishing.recover', (container) => container.publishing.runner.recover()),
  defineJob({
    // One run of an ad deployment's state machine (modules/ads/ads-runner.ts); the row holds its
    // checkpoint and lease, the runner queues its own next run (rate-limit waits, video processing).
    name: ADS_TASK,
    payload: Type.Object({ org_id: Type.String(), ad_deployment_id: Type.String() }),
    maxAttempts: 5,
    async run(payload, { container }) {
      await container.ads.runner.run(payload.org_id, payload.ad_deployment_id);
    },
  }),
  recoverJob('ads.recover', (container) => container.ads.runner.recover()),
];

export class InvalidJobPayload extends Error {}

export function validatePayload(job: JobDefinition, payload: unknown): void {
  if (!Value.Check(job.payload, payload ?? {})) {
    throw new InvalidJobPayload(`payload of ${job.name} does not match its schema`);
  }
}
