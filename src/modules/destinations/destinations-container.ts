import type { Logger } from 'pino';
import type { Databases } from '../../db/database.ts';
import type { DestinationLookup, EnabledDestination } from '../../egress/egress-allowlist.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { META_GRAPH_HOST } from '../../platforms/meta/capi-events.ts';
import { TIKTOK_EVENTS_HOST } from '../../platforms/tiktok/events-track.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ForwardRowBuilder } from '../ingest/ingest-service.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import { createDestinationsDal } from './destinations-dal.ts';
import { createDestinationsService } from './destinations-service.ts';
import { forwardBatchSealer } from './forward-batch.ts';
import { forwardItemsBuilder } from './forward-builder.ts';
import type { DestinationType } from './forward-event.ts';
import { createForwardQueueDal } from './forward-queue-dal.ts';
import { createForwardStats } from './forward-stats.ts';
import { createForwarder } from './forwarder.ts';

/** Where each destination type sends: the egress allowlist's "destinations a project enabled". */
export const DESTINATION_HOSTS: Record<DestinationType, EnabledDestination> = {
  meta_capi: { type: 'meta_capi', vendor: 'meta', hosts: [META_GRAPH_HOST] },
  tiktok_events: { type: 'tiktok_events', vendor: 'tiktok', hosts: [TIKTOK_EVENTS_HOST] },
};

/**
 * The destinations module's pieces, wired once (container.ts): the partner API service, the stats,
 * what ingest needs (the project's forward targets, the item builder and the batch sealer), the egress gateway's lookup of
 * enabled destinations, and the forwarder (made once the gateway exists).
 */
export function createDestinations(deps: {
  dbs: Databases;
  envelope: Envelope;
  auditLog: AuditLogService;
  projects: ProjectsService;
  events: WebhookEventEmitter;
  clock: Clock;
}) {
  const dal = createDestinationsDal();
  const stats = createForwardStats();
  const service = createDestinationsService({
    dal,
    projects: deps.projects,
    auditLog: deps.auditLog,
    envelope: deps.envelope,
  });
  const buildRows: ForwardRowBuilder = () => forwardItemsBuilder();
  // Asked by the gateway for `capi` calls only: one indexed query on the system connection.
  const lookup: DestinationLookup = async ({ orgId, projectId }) =>
    projectId === null
      ? []
      : (await dal.enabledTypes(deps.dbs.system, orgId, projectId)).map((t) => DESTINATION_HOSTS[t]);
  return {
    service,
    stats,
    forwardTargets: dal.forwardTargets,
    buildRows,
    sealForward: forwardBatchSealer(deps.envelope),
    lookup,
    forwarder(egress: Pick<EgressGateway, 'request'>, logger?: Logger) {
      return createForwarder({
        db: deps.dbs.system,
        dal: createForwardQueueDal(),
        stats,
        envelope: deps.envelope,
        egress,
        events: deps.events,
        clock: deps.clock,
        ...(logger ? { logger } : {}),
      });
    },
  };
}
