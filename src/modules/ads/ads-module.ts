import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/schema.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import type { AdDeployer } from '../../platforms/ads-port.ts';
import { createMetaAds } from '../../platforms/meta/meta-ads.ts';
import { createTikTokAds } from '../../platforms/tiktok/tiktok-ads.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { MediaService } from '../media/media-service.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { SocialAccountsModule } from '../social-accounts/social-accounts-module.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import { createAdsDal } from './ads-dal.ts';
import { createAdsRunner } from './ads-runner.ts';
import { createAdsService } from './ads-service.ts';

/** Wires the ads module (container.ts calls this once): the partner API and the job's runner. */
export function createAdsModule(deps: {
  config: Config;
  envelope: Envelope;
  systemDb: Kysely<Database>;
  egress: EgressGateway;
  media: MediaService;
  projects: ProjectsService;
  socialAccounts: SocialAccountsModule;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  clock: Clock;
}) {
  const { config, clock } = deps;
  const dal = createAdsDal();
  const now = () => clock.now();
  // TikTok's calls carry the advertiser token given with each deployment, not app credentials.
  const deployers: Partial<Record<'meta' | 'tiktok', AdDeployer>> = {
    meta: createMetaAds({ egress: deps.egress, now, credentials: config.social.meta }),
    tiktok: createTikTokAds({ egress: deps.egress, now }),
  };
  const service = createAdsService({
    dal,
    socialDal: deps.socialAccounts.dal,
    media: deps.media,
    projects: deps.projects,
    auditLog: deps.auditLog,
    deployers,
    envelope: deps.envelope,
  });
  const runner = createAdsRunner({
    db: deps.systemDb,
    dal,
    deployers,
    tokens: deps.socialAccounts.tokens,
    envelope: deps.envelope,
    media: deps.media,
    auditLog: deps.auditLog,
    events: deps.events,
    onNeedsReconnect: (orgId, id) => deps.socialAccounts.service.markNeedsReconnect(orgId, id),
    clock,
    // A step is one vendor call (10 s at most) and a store: the watchdog (60 s by default) outlives
    // it; a killed worker's deployments resume once it has passed (tests shorten it).
    leaseMs: config.jobWatchdogMs,
    rateLimitWaitMs: 60_000,
  });
  return { service, runner };
}

export type AdsModule = ReturnType<typeof createAdsModule>;
