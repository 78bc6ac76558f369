import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/schema.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { createPlatformRegistry, type PlatformRegistry } from '../../platforms/platform-registry.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import { createPostSync } from './post-sync.ts';
import { createSocialAccountsDal } from './social-accounts-dal.ts';
import { createSocialAccountsService } from './social-accounts-service.ts';
import { createSocialMetrics } from './social-metrics.ts';
import { createSocialRevocation } from './social-revocation.ts';
import { createSocialTokens } from './social-tokens.ts';

/** Wires the social-accounts module (container.ts calls this once). */
export function createSocialAccountsModule(deps: {
  config: Config;
  appDb: Kysely<Database>;
  systemDb: Kysely<Database>;
  egress: EgressGateway;
  envelope: Envelope;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  clock: Clock;
  /** Tests inject adapters (e.g. against a third-party authorization server); default: the real ones. */
  platforms?: PlatformRegistry;
  /** Where the module's counters are registered (the /metrics registry). */
  registry?: Registry;
}) {
  const { config, appDb, systemDb, envelope, auditLog, events, clock } = deps;
  const dal = createSocialAccountsDal();
  const platforms =
    deps.platforms ?? createPlatformRegistry({ config, egress: deps.egress, now: () => clock.now() });
  // The service is created after the token manager, which reports refused tokens to it.
  let markNeedsReconnect: (orgId: string, id: string) => Promise<void> = async () => undefined;
  const onNeedsReconnect = (orgId: string, id: string) => markNeedsReconnect(orgId, id);
  const metrics = createSocialMetrics(deps.registry);
  const tokens = createSocialTokens({
    db: appDb,
    dal,
    envelope,
    platforms,
    clock,
    onNeedsReconnect,
    metrics,
  });
  const service = createSocialAccountsService({
    appDb,
    systemDb,
    dal,
    envelope,
    platforms,
    tokens,
    auditLog,
    events,
    clock,
    publicUrl: config.publicUrl,
  });
  markNeedsReconnect = service.markNeedsReconnect;
  const revocation = createSocialRevocation({
    appDb,
    systemDb,
    dal,
    platforms,
    tokens,
    auditLog,
    events,
    clock,
  });
  const sync = createPostSync({
    appDb,
    systemDb,
    dal,
    platforms,
    tokens,
    clock,
    onNeedsReconnect,
    revokeInDeletedProjects: () => revocation.revokeInDeletedProjects(),
    metrics,
  });
  return { dal, platforms, tokens, service, revocation, sync };
}

export type SocialAccountsModule = ReturnType<typeof createSocialAccountsModule>;
