import fastifyCookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Container } from './container.ts';
import type { AppInstance } from './http/app-types.ts';
import { registerAuth } from './http/auth.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './http/error-handler.ts';
import { registerJsonBodyParser } from './http/json-body.ts';
import { registerRequestLogging } from './http/logging.ts';
import { registerHttpMetrics } from './http/metrics.ts';
import { registerOpenApi } from './http/openapi.ts';
import { registerOperationsRoutes } from './http/operations-routes.ts';
import { generateRequestId, registerRequestId } from './http/request-id.ts';
import { type RouteEntry, registerRouteCatalog } from './http/route-catalog.ts';
import { ErrorResponse } from './http/schemas.ts';
import { registerSdkCors } from './http/sdk-cors.ts';
import { registerParameterGuards, validationSchemaController } from './http/validation.ts';
import { registerAdRoutes } from './modules/ads/ads-routes.ts';
import { registerApiKeyRoutes } from './modules/api-keys/api-keys-routes.ts';
import { registerAuditLogRoutes } from './modules/audit-log/audit-log-routes.ts';
import { registerConsoleAuthRoutes } from './modules/console-auth/console-auth-routes.ts';
import { registerConsoleStatic } from './modules/console-auth/console-static.ts';
import { registerDataProtectionRoutes } from './modules/data-protection/data-protection-routes.ts';
import { registerDestinationRoutes } from './modules/destinations/destinations-routes.ts';
import { registerDpaRoutes } from './modules/dpa/dpa-routes.ts';
import { registerEgressLedgerRoutes } from './modules/egress-ledger/egress-ledger-routes.ts';
import { registerGenerationRoutes } from './modules/generation/generation-routes.ts';
import { registerIngestRoutes } from './modules/ingest/ingest-routes.ts';
import { registerMediaRoutes } from './modules/media/media-routes.ts';
import { registerOrgRoutes } from './modules/orgs/orgs-routes.ts';
import { registerProfileRoutes } from './modules/profiles/profiles-routes.ts';
import { registerProjectRoutes } from './modules/projects/projects-routes.ts';
import { registerPublishingRoutes } from './modules/publishing/publishing-routes.ts';
import { registerRequestLog } from './modules/request-log/request-log-hook.ts';
import { registerRetentionRoutes } from './modules/retention/retention-routes.ts';
import { registerSegmentRoutes } from './modules/segment/segment-routes.ts';
import { registerPlatformCallbackRoutes } from './modules/social-accounts/platform-callbacks-routes.ts';
import { registerSocialAccountRoutes } from './modules/social-accounts/social-accounts-routes.ts';
import { registerSubjectRoutes } from './modules/subjects/subjects-routes.ts';
import { registerWebhookDeliveryRoutes } from './modules/webhooks/webhook-deliveries-routes.ts';
import { registerWebhookRoutes } from './modules/webhooks/webhooks-routes.ts';

/** Default limit on request bodies; the SDK ingest route sets its own. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * Longest path parameter (decoded, in UTF-16 units) the router takes; longer ones answer 414 in the
 * error contract. Far above every id a route accepts, so that each route's own schema answers, and
 * above the longest `user_id` ingest accepts (256), so that every user is exportable and erasable.
 */
export const MAX_PATH_PARAM_LENGTH = 1024;

export type AppDeps = { config: Config; container: Container; logger: Logger };

export type PlatformApp = AppInstance & { routeCatalog: RouteEntry[] };

/** Builds the HTTP application (tests build it too, and drive it with inject() or a real listener). */
export async function buildApp({ config, container, logger }: AppDeps): Promise<PlatformApp> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's own per-request lines would log the raw URL; ours (http/logging.ts) log the route pattern.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: generateRequestId,
    bodyLimit: DEFAULT_BODY_LIMIT,
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // A request that arrives while the server drains gets the contract's 503 (http/error-handler.ts).
    return503OnClosing: false,
    schemaController: validationSchemaController(),
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const routeCatalog = registerRouteCatalog(app);
  app.addSchema(ErrorResponse);
  registerErrorHandling(app);
  registerJsonBodyParser(app);
  registerParameterGuards(app);
  registerRequestId(app);
  registerSdkCors(app);
  // Parses the console's session cookie (before the auth hook reads it).
  await app.register(fastifyCookie);
  registerAuth(app, {
    authenticator: container.authenticator,
    adminToken: config.adminToken,
    rateLimiter: container.rateLimiter,
    consoleSessions: container.consoleAuth.sessions,
  });
  registerRequestLogging(app);
  registerHttpMetrics(app, container.metrics);
  registerRequestLog(app, container.requestLog);
  await registerOpenApi(app);

  registerOperationsRoutes(app, { dbs: container.dbs, metrics: container.metrics });
  registerOrgRoutes(app, { orgs: container.orgs });
  registerProjectRoutes(app, { projects: container.projects, tenant: container.tenant });
  registerApiKeyRoutes(app, { apiKeys: container.apiKeys, tenant: container.tenant });
  registerWebhookRoutes(app, { webhooks: container.webhooks, tenant: container.tenant });
  registerWebhookDeliveryRoutes(app, { deliveries: container.webhookDeliveries, tenant: container.tenant });
  registerAuditLogRoutes(app, { auditLog: container.auditLog, tenant: container.tenant });
  registerIngestRoutes(app, { ingest: container.ingest });
  registerSegmentRoutes(app, { segment: container.segment });
  registerProfileRoutes(app, { profiles: container.profiles, tenant: container.tenant });
  registerSubjectRoutes(app, { subjects: container.subjects, tenant: container.tenant });
  registerRetentionRoutes(app, { retention: container.retention, tenant: container.tenant });
  registerDpaRoutes(app, { dpa: container.dpa, tenant: container.tenant });
  registerDataProtectionRoutes(app, container.dataProtection);
  registerEgressLedgerRoutes(app, { egressLedger: container.egressLedger, tenant: container.tenant });
  registerDestinationRoutes(app, {
    destinations: container.destinations,
    stats: container.forwardStats,
    tenant: container.tenant,
  });
  registerGenerationRoutes(app, { generations: container.generations, tenant: container.tenant });
  registerMediaRoutes(app, { media: container.media, tenant: container.tenant, clock: container.clock });
  registerSocialAccountRoutes(app, {
    socialAccounts: container.socialAccounts.service,
    revocation: container.socialAccounts.revocation,
    projects: container.projects,
    tenant: container.tenant,
  });
  registerAdRoutes(app, { ads: container.ads.service, tenant: container.tenant });
  registerPublishingRoutes(app, { publishing: container.publishing.service, tenant: container.tenant });
  registerPlatformCallbackRoutes(app, {
    revocation: container.socialAccounts.revocation,
    clock: container.clock,
    publicUrl: config.publicUrl,
    meta: config.social.meta,
    tiktok: config.social.tiktok,
  });
  registerConsoleAuthRoutes(app, {
    ...container.consoleAuth,
    appDb: container.dbs.app,
    clock: container.clock,
  });
  await registerConsoleStatic(app);

  await app.ready();
  return Object.assign(app, { routeCatalog });
}
