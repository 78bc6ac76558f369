import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/schema.ts';
import type { Clock } from '../../lib/clock.ts';
import type { PublisherRegistry } from '../../platforms/publishing-registry.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { MediaService } from '../media/media-service.ts';
import type { SocialAccountsModule } from '../social-accounts/social-accounts-module.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import { createPublishingDal } from './publishing-dal.ts';
import { createPublishingRunner } from './publishing-runner.ts';
import { createPublishingService } from './publishing-service.ts';

/** Wires the publishing module (container.ts calls this once): the partner API and the job's runner. */
export function createPublishingModule(deps: {
  config: Config;
  systemDb: Kysely<Database>;
  publishers: PublisherRegistry;
  media: MediaService;
  socialAccounts: SocialAccountsModule;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  clock: Clock;
}) {
  const dal = createPublishingDal();
  const socialDal = deps.socialAccounts.dal;
  const service = createPublishingService({
    dal,
    socialDal,
    media: deps.media,
    auditLog: deps.auditLog,
    publishers: deps.publishers,
  });
  const runner = createPublishingRunner({
    db: deps.systemDb,
    dal,
    socialDal,
    publishers: deps.publishers,
    tokens: deps.socialAccounts.tokens,
    media: deps.media,
    auditLog: deps.auditLog,
    events: deps.events,
    onNeedsReconnect: (orgId, id) => deps.socialAccounts.service.markNeedsReconnect(orgId, id),
    clock: deps.clock,
    // Renewed while a step runs (publishing-runner.ts): how soon a killed worker's publication resumes.
    leaseMs: deps.config.jobWatchdogMs,
  });
  return { service, runner };
}

export type PublishingModule = ReturnType<typeof createPublishingModule>;
