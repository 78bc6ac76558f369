import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Databases } from './db/database.ts';
import { createAllowlist } from './egress/egress-allowlist.ts';
import { createEgressGateway } from './egress/egress-gateway.ts';
import { createEgressMetrics } from './egress/egress-metrics.ts';
import { createIdempotencyDal } from './http/idempotency-dal.ts';
import { createIdempotencyService } from './http/idempotency-service.ts';
import { createMetrics } from './http/metrics.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { createTenantHandlers } from './http/tenant-handlers.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import type { Envelope } from './lib/envelope-crypto.ts';
import { createAdsModule } from './modules/ads/ads-module.ts';
import { createApiKeyAuthenticator } from './modules/api-keys/api-key-authenticator.ts';
import { createApiKeysDal } from './modules/api-keys/api-keys-dal.ts';
import { createApiKeysService } from './modules/api-keys/api-keys-service.ts';
import { createAuditLogDal } from './modules/audit-log/audit-log-dal.ts';
import { createAuditLogService } from './modules/audit-log/audit-log-service.ts';
import { createConsoleAuth } from './modules/console-auth/console-auth-container.ts';
import { createDataProtectionPageDeps } from './modules/data-protection/data-protection-deps.ts';
import { createDestinations } from './modules/destinations/destinations-container.ts';
import { createDpaDal } from './modules/dpa/dpa-dal.ts';
import { createDpaService } from './modules/dpa/dpa-service.ts';
import { createEgressLedgerDal } from './modules/egress-ledger/egress-ledger-dal.ts';
import { createEgressLedgerService } from './modules/egress-ledger/egress-ledger-service.ts';
import { createEgressLedgerWriter } from './modules/egress-ledger/egress-ledger-writer.ts';
import { createEgressPageReader } from './modules/egress-ledger/egress-page-reader.ts';
import { createGenerationModule } from './modules/generation/generation-wiring.ts';
import { createDroppingDeviceIdSink } from './modules/ingest/device-id-sink.ts';
import { createIngestDal } from './modules/ingest/ingest-dal.ts';
import { createIngestService } from './modules/ingest/ingest-service.ts';
import { createIngestWriter } from './modules/ingest/ingest-writer.ts';
import { createProjectPolicyCache } from './modules/ingest/project-policy-cache.ts';
import { createOrgsDal } from './modules/orgs/orgs-dal.ts';
import { createOrgsService } from './modules/orgs/orgs-service.ts';
import { createProfilesDal } from './modules/profiles/profiles-dal.ts';
import { createProfilesService } from './modules/profiles/profiles-service.ts';
import { createProjectsDal } from './modules/projects/projects-dal.ts';
import { createProjectsService } from './modules/projects/projects-service.ts';
import { createPublishingModule } from './modules/publishing/publishing-module.ts';
import { createRequestLogWriter } from './modules/request-log/request-log-writer.ts';
import { createPartnershipEnd } from './modules/retention/partnership-end.ts';
import { createPurgeScheduleDal } from './modules/retention/purge-schedule-dal.ts';
import { createRetentionMetrics } from './modules/retention/retention-metrics.ts';
import { createRetentionOverridesDal } from './modules/retention/retention-overrides-dal.ts';
import { createRetentionService } from './modules/retention/retention-service.ts';
import { createRetentionSweeper } from './modules/retention/retention-sweeper.ts';
import { createSweeperDals } from './modules/retention/sweeper-dals.ts';
import { createSegmentService } from './modules/segment/segment-service.ts';
import { createSocialAccountsModule } from './modules/social-accounts/social-accounts-module.ts';
import { createDataSubjectRequestsDal } from './modules/subjects/data-subject-requests-dal.ts';
import { createErasureExecutor } from './modules/subjects/erasure-executor.ts';
import { createSubjectsService } from './modules/subjects/subjects-service.ts';
import { createSuppressionCache } from './modules/subjects/suppression-cache.ts';
import { createAddressGuard } from './modules/webhooks/address-guard.ts';
import { type HostResolver, systemResolver } from './modules/webhooks/host-resolver.ts';
import { createWebhookDeliveriesService } from './modules/webhooks/webhook-deliveries-service.ts';
import { createWebhookDeliveryDal } from './modules/webhooks/webhook-delivery-dal.ts';
import { createWebhookDispatchService } from './modules/webhooks/webhook-dispatch-service.ts';
import { createWebhookEventsDal } from './modules/webhooks/webhook-events-dal.ts';
import { createWebhookEventsService } from './modules/webhooks/webhook-events-service.ts';
import { createWebhookSender } from './modules/webhooks/webhook-sender.ts';
import { createWebhooksDal } from './modules/webhooks/webhooks-dal.ts';
import { createWebhooksService } from './modules/webhooks/webhooks-service.ts';
import type { PlatformRegistry } from './platforms/platform-registry.ts';
import { createPublisherRegistry, type PublisherRegistry } from './platforms/publishing-registry.ts';
import type { GeoResolver } from './privacy/geo-resolver.ts';

export type ContainerDeps = {
  config: Config;
  dbs: Databases;
  envelope: Envelope;
  geo: GeoResolver;
  clock?: Clock;
  /** Resolves webhook hosts for the SSRF guard (tests inject a stub; default: the OS resolver). */
  resolver?: HostResolver;
  /** Where the egress gateway logs its refusals (vendor, purpose, host, reason); none when absent. */
  logger?: Logger;
  /** Social-platform adapters (tests inject some); default: TikTok, Meta and Google through the gateway. */
  socialPlatforms?: PlatformRegistry;
  /** Publishers (tests inject some); default: the vendor publishers through the gateway. */
  publishers?: PublisherRegistry;
};

/** Wires DALs → services → the pieces routes need, by hand: one place to see what depends on what. */
export function createContainer({
  config,
  dbs,
  envelope,
  geo,
  clock = systemClock,
  resolver = systemResolver,
  logger,
  socialPlatforms,
  publishers,
}: ContainerDeps) {
  const metrics = createMetrics();
  const authenticator = createApiKeyAuthenticator({ db: dbs.app, now: () => clock.now().getTime() });
  const rateLimiter = createRateLimiter(config.rateLimits, () => clock.now().getTime());
  const requestLog = createRequestLogWriter({ db: dbs.system, metrics });
  const idempotency = createIdempotencyService({
    dal: createIdempotencyDal(),
    envelope,
    systemDb: dbs.system,
    clock,
  });
  const tenant = createTenantHandlers({
    db: dbs.app,
    clock,
    idempotency,
    // The org's contract replay window, or the registry default (read in the request's transaction).
    replayWindowMs: (tx, orgId) => retention.effectiveMs(tx, orgId, 'idempotency_cache'),
  });

  const auditLog = createAuditLogService({ auditLogDal: createAuditLogDal() });
  // Emits webhook events in the caller's transaction; every service that reports a change takes it.
  const webhookEvents = createWebhookEventsService({ eventsDal: createWebhookEventsDal() });
  const projects = createProjectsService({
    projectsDal: createProjectsDal(),
    auditLog,
    events: webhookEvents,
    deletionGraceMs: (scope) => retention.effectiveMs(scope.tx, scope.orgId, 'generated_media'),
  });
  const apiKeysDal = createApiKeysDal();
  const apiKeys = createApiKeysService({
    apiKeysDal,
    projects,
    auditLog,
    authenticator,
    events: webhookEvents,
  });
  const webhookGuard = createAddressGuard({
    resolver,
    allowPrivate: config.allowPrivateWebhooks,
    // Only the address check is ever lifted (and never in production: config.ts refuses that).
    requireHttps: config.env === 'production',
  });
  const webhooks = createWebhooksService({
    webhooksDal: createWebhooksDal(),
    auditLog,
    envelope,
    events: webhookEvents,
    guard: webhookGuard,
  });
  const webhookDeliveryDal = createWebhookDeliveryDal();
  const webhookDeliveries = createWebhookDeliveriesService({
    deliveryDal: webhookDeliveryDal,
    webhooks,
    events: webhookEvents,
  });
  const webhookSender = createWebhookSender({ guard: webhookGuard });
  const webhookDispatch = createWebhookDispatchService({
    db: dbs.system,
    deliveryDal: webhookDeliveryDal,
    envelope,
    sender: webhookSender,
    auditLog,
    events: webhookEvents,
    clock,
    // An attempt's lease outlives its 15 s send timeout, so recovery never repeats a live attempt.
    leaseMs: Math.max(config.jobWatchdogMs, webhookSender.timeoutMs + 5_000),
    stuckAfterMs: config.jobWatchdogMs,
  });
  // Conversions API destinations (modules/destinations): the partner API, ingest's forward rows,
  // the gateway's lookup of enabled destinations, and the forwarder (below, once the gateway exists).
  const destinations = createDestinations({
    dbs,
    envelope,
    auditLog,
    projects,
    events: webhookEvents,
    clock,
  });
  const ingestDal = createIngestDal();
  const ingestWriter = createIngestWriter({
    pool: dbs.appPool,
    dal: ingestDal,
    clock,
    sealForward: destinations.sealForward,
  });
  const projectPolicies = createProjectPolicyCache({
    db: dbs.app,
    dal: ingestDal,
    now: () => clock.now().getTime(),
    forwardTargets: destinations.forwardTargets,
  });
  const dsrDal = createDataSubjectRequestsDal();
  const suppressions = createSuppressionCache({ db: dbs.app, dal: dsrDal, now: () => clock.now().getTime() });
  const ingest = createIngestService({
    writer: ingestWriter,
    policies: projectPolicies,
    geo,
    deviceIds: createDroppingDeviceIdSink((n) => metrics.deviceIdsDropped.inc(n)),
    forwarding: destinations.buildRows,
    suppressions,
    clock,
    metrics: {
      accepted: (n) => metrics.ingestEvents.inc({ outcome: 'accepted' }, n),
      duplicates: (n) => metrics.ingestEvents.inc({ outcome: 'duplicate' }, n),
      rejected: (code) => metrics.ingestRejections.inc({ code }),
    },
  });
  const segment = createSegmentService({ ingest, clock });
  const profilesDal = createProfilesDal();
  const profiles = createProfilesService({ profilesDal, projects });
  const subjects = createSubjectsService({
    dal: dsrDal,
    projects,
    profilesDal,
    auditLog,
    suppressions,
    appPool: dbs.appPool,
    exportLimits: config.exportLimits,
  });
  const erasure = createErasureExecutor({
    db: dbs.system,
    dal: dsrDal,
    auditLog,
    clock,
    events: webhookEvents,
    envelope,
  });
  const retentionOverridesDal = createRetentionOverridesDal();
  const purgeScheduleDal = createPurgeScheduleDal();
  const sweeperDals = createSweeperDals({ profilesDal });
  const partnershipEnd = createPartnershipEnd({
    overridesDal: retentionOverridesDal,
    scheduleDal: purgeScheduleDal,
    purgeDal: sweeperDals.purgeDal,
    // Social accounts are revoked at their platforms (through the job queue) before their rows go.
    beforeImmediateDelete: async (scope) => {
      await socialAccounts.revocation.onOffboard(scope);
      await ads.service.onOffboard(scope);
    },
  });
  const retention = createRetentionService({
    systemDb: dbs.system,
    overridesDal: retentionOverridesDal,
    orgsDal: sweeperDals.orgsDal,
    idempotencyDal: createIdempotencyDal(),
    auditLog,
    clock,
  });
  const retentionSweeper = createRetentionSweeper({
    db: dbs.system,
    clock,
    overridesDal: retentionOverridesDal,
    scheduleDal: purgeScheduleDal,
    ...sweeperDals,
    partnershipEnd,
    auditLog,
    metrics: createRetentionMetrics(metrics.registry),
    // Media objects go with their project (grace period) or org (partnership end).
    objects: {
      purgeProject: (orgId, projectId) => media.purgeProjectObjects(orgId, projectId),
      purgeOrg: (orgId) => media.purgeOrgObjects(orgId),
    },
  });
  const dpa = createDpaService({
    dpaDal: createDpaDal(),
    auditLog,
    events: webhookEvents,
    systemDb: dbs.system,
    clock,
    legalContact: config.contacts.legal,
  });
  // Third parties: the egress gateway (the one way out to a vendor), its ledger and the page's view.
  const egressMetrics = createEgressMetrics(metrics.registry);
  const egressLedgerDal = createEgressLedgerDal();
  const egressLedgerWriter = createEgressLedgerWriter({
    pool: dbs.systemPool,
    dal: egressLedgerDal,
    metrics: egressMetrics.ledger,
  });
  const egressLedger = createEgressLedgerService({ dal: egressLedgerDal });
  const dataProtection = {
    ...createDataProtectionPageDeps(config),
    egressPage: createEgressPageReader({ authenticator, db: dbs.app, egressLedger, clock }),
  };
  // The allowlist is the sub-processor registry the page shows; `capi` calls also need a destination
  // the project enabled (modules/destinations answers which).
  const egress = createEgressGateway({
    allowlist: createAllowlist(dataProtection.subprocessors),
    destinations: destinations.lookup,
    redirects: config.egressRedirects,
    ledger: egressLedgerWriter,
    metrics: egressMetrics,
    clock,
    ...(logger ? { logger } : {}),
  });
  const forwarder = destinations.forwarder(egress, logger);
  // Content generation and media (modules/generation, modules/media).
  const { media, generations } = createGenerationModule({
    config,
    dbs,
    envelope,
    egress,
    projects,
    auditLog,
    events: webhookEvents,
    clock,
  });
  // Social accounts (modules/social-accounts, platforms/): OAuth connections, tokens, post metadata.
  const socialAccounts = createSocialAccountsModule({
    config,
    appDb: dbs.app,
    systemDb: dbs.system,
    egress,
    envelope,
    auditLog,
    events: webhookEvents,
    clock,
    registry: metrics.registry,
    ...(socialPlatforms ? { platforms: socialPlatforms } : {}),
  });
  // Publications (modules/publishing, platforms/*-publisher.ts): generated media posted to accounts.
  const publishing = createPublishingModule({
    config,
    systemDb: dbs.system,
    publishers: publishers ?? createPublisherRegistry({ config, egress, now: () => clock.now(), envelope }),
    media,
    socialAccounts,
    auditLog,
    events: webhookEvents,
    clock,
  });
  // Ad deployments (modules/ads, platforms/*-ads.ts): paused ads from generated videos.
  const ads = createAdsModule({
    config,
    envelope,
    systemDb: dbs.system,
    egress,
    media,
    projects,
    socialAccounts,
    auditLog,
    events: webhookEvents,
    clock,
  });
  const orgs = createOrgsService({
    systemDb: dbs.system,
    orgsDal: createOrgsDal(),
    apiKeysDal,
    auditLog,
    authenticator,
    clock,
    events: webhookEvents,
    partnershipEnd,
  });

  // The console (partner representatives): accounts, sessions, members; Layers is their controller.
  const consoleAuth = createConsoleAuth({ config, dbs, envelope, auditLog, clock });

  return {
    config,
    dbs,
    clock,
    consoleAuth,
    envelope,
    metrics,
    authenticator,
    rateLimiter,
    requestLog,
    tenant,
    idempotency,
    auditLog,
    projects,
    apiKeys,
    webhooks,
    webhookEvents,
    webhookDeliveries,
    webhookDispatch,
    orgs,
    retentionSweeper,
    retention,
    partnershipEnd,
    dpa,
    dataProtection,
    egress,
    egressLedger,
    egressLedgerWriter,
    destinations: destinations.service,
    forwardStats: destinations.stats,
    forwarder,
    media,
    generations,
    socialAccounts,
    publishing,
    ads,
    ingest,
    ingestWriter,
    segment,
    projectPolicies,
    profiles,
    subjects,
    erasure,
    suppressions,
    geo,
    /** Starts the background parts of the request path (revocation polling, batched writes). */
    start() {
      authenticator.start();
      requestLog.start();
    },
    /** Flushes what is buffered: request-log rows and last-used times. */
    async stop() {
      await ingestWriter.drain();
      await Promise.allSettled([requestLog.stop(), authenticator.stop()]);
      webhookSender.close();
      // Calls still in flight finish (or fail) before the ledger writes what is left.
      await egress.close();
      await egressLedgerWriter.stop();
    },
  };
}

export type Container = ReturnType<typeof createContainer>;
