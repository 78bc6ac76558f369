import type { Config } from './config.ts';
import type { Databases } from './db/database.ts';
import { createIdempotencyDal } from './http/idempotency-dal.ts';
import { createMetrics } from './http/metrics.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { createTenantHandlers } from './http/tenant-handlers.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import type { Envelope } from './lib/envelope-crypto.ts';
import { createApiKeyAuthenticator } from './modules/api-keys/api-key-authenticator.ts';
import { createApiKeysDal } from './modules/api-keys/api-keys-dal.ts';
import { createApiKeysService } from './modules/api-keys/api-keys-service.ts';
import { createAuditLogDal } from './modules/audit-log/audit-log-dal.ts';
import { createAuditLogService } from './modules/audit-log/audit-log-service.ts';
import { createDroppingDeviceIdSink } from './modules/ingest/device-id-sink.ts';
import { createIngestDal } from './modules/ingest/ingest-dal.ts';
import { createIngestService } from './modules/ingest/ingest-service.ts';
import { createIngestWriter } from './modules/ingest/ingest-writer.ts';
import { createProjectPolicyCache } from './modules/ingest/project-policy-cache.ts';
import { createOrgsDal } from './modules/orgs/orgs-dal.ts';
import { createOrgsService } from './modules/orgs/orgs-service.ts';
import { createProfilesDal } from './modules/profiles/profiles-dal.ts';
import { createProfilesService } from './modules/profiles/profiles-service.ts';
import { createDataSubjectRequestsDal } from './modules/subjects/data-subject-requests-dal.ts';
import { createErasureExecutor } from './modules/subjects/erasure-executor.ts';
import { createSubjectsService } from './modules/subjects/subjects-service.ts';
import { createSuppressionCache } from './modules/subjects/suppression-cache.ts';
import { createProjectsDal } from './modules/projects/projects-dal.ts';
import { createProjectsService } from './modules/projects/projects-service.ts';
import { createRequestLogWriter } from './modules/request-log/request-log-writer.ts';
import { createRetentionSweeper } from './modules/retention/retention-sweeper.ts';
import { createWebhooksDal } from './modules/webhooks/webhooks-dal.ts';
import { createWebhooksService } from './modules/webhooks/webhooks-service.ts';
import { defaultRetentionMs } from './privacy/data-classes.ts';
import type { GeoResolver } from './privacy/geo-resolver.ts';

export type ContainerDeps = {
  config: Config;
  dbs: Databases;
  envelope: Envelope;
  geo: GeoResolver;
  clock?: Clock;
};

/** Wires DALs → services → the pieces routes need, by hand: one place to see what depends on what. */
export function createContainer({ config, dbs, envelope, geo, clock = systemClock }: ContainerDeps) {
  const metrics = createMetrics();
  const authenticator = createApiKeyAuthenticator({ db: dbs.app, now: () => clock.now().getTime() });
  const rateLimiter = createRateLimiter(config.rateLimits, () => clock.now().getTime());
  const requestLog = createRequestLogWriter({ db: dbs.system, metrics });
  const tenant = createTenantHandlers({
    db: dbs.app,
    clock,
    idempotencyDal: createIdempotencyDal(),
    replayWindowMs: defaultRetentionMs('idempotency_cache'),
  });

  const auditLog = createAuditLogService({ auditLogDal: createAuditLogDal() });
  const projects = createProjectsService({
    projectsDal: createProjectsDal(),
    auditLog,
    deletionGraceMs: () => defaultRetentionMs('generated_media'),
  });
  const apiKeysDal = createApiKeysDal();
  const apiKeys = createApiKeysService({ apiKeysDal, projects, auditLog, authenticator });
  const webhooks = createWebhooksService({
    webhooksDal: createWebhooksDal(),
    auditLog,
    envelope,
    requireHttps: config.env === 'production' && !config.allowPrivateWebhooks,
  });
  const ingestDal = createIngestDal();
  const ingestWriter = createIngestWriter({ db: dbs.app, dal: ingestDal, clock });
  const projectPolicies = createProjectPolicyCache({
    db: dbs.app,
    dal: ingestDal,
    now: () => clock.now().getTime(),
  });
  const dsrDal = createDataSubjectRequestsDal();
  const suppressions = createSuppressionCache({ db: dbs.app, dal: dsrDal, now: () => clock.now().getTime() });
  const ingest = createIngestService({
    writer: ingestWriter,
    policies: projectPolicies,
    geo,
    deviceIds: createDroppingDeviceIdSink((n) => metrics.deviceIdsDropped.inc(n)),
    suppressions,
    clock,
    metrics: {
      accepted: (n) => metrics.ingestEvents.inc({ outcome: 'accepted' }, n),
      duplicates: (n) => metrics.ingestEvents.inc({ outcome: 'duplicate' }, n),
      rejected: (code) => metrics.ingestRejections.inc({ code }),
    },
  });
  const profilesDal = createProfilesDal();
  const profiles = createProfilesService({ profilesDal, projects });
  const subjects = createSubjectsService({ dal: dsrDal, projects, profilesDal, auditLog, suppressions, appPool: dbs.appPool });
  const erasure = createErasureExecutor({ db: dbs.system, dal: dsrDal, auditLog, clock });
  const retentionSweeper = createRetentionSweeper({ db: dbs.system, clock });
  const orgs = createOrgsService({
    systemDb: dbs.system,
    orgsDal: createOrgsDal(),
    apiKeysDal,
    auditLog,
    authenticator,
    clock,
  });

  return {
    config,
    dbs,
    clock,
    envelope,
    metrics,
    authenticator,
    rateLimiter,
    requestLog,
    tenant,
    auditLog,
    projects,
    apiKeys,
    webhooks,
    orgs,
    retentionSweeper,
    ingest,
    ingestWriter,
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
    },
  };
}

export type Container = ReturnType<typeof createContainer>;
