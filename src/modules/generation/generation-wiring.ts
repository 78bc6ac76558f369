import type { Config } from '../../config.ts';
import type { Databases } from '../../db/database.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { createRenderGate } from '../../rendering/render-gate.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import { createFsMediaStore } from '../media/fs-media-store.ts';
import { createMediaDal } from '../media/media-dal.ts';
import { createMediaService } from '../media/media-service.ts';
import { createMediaSigner } from '../media/media-signing.ts';
import type { MediaStore } from '../media/media-store.ts';
import { createS3MediaStore } from '../media/s3-media-store.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import { createDefaultProvider } from './default-provider.ts';
import { createGenerationDal } from './generation-dal.ts';
import { createGenerationService } from './generation-service.ts';
import type { CopyProvider, ProviderName } from './provider-port.ts';
import { createVendorProviders } from './vendor-providers.ts';

/** Wires media (store, signer, service) and generation (providers, render gate, service) for the container. */
export function createGenerationModule(deps: {
  config: Config;
  dbs: Databases;
  envelope: Envelope;
  egress: EgressGateway;
  projects: ProjectsService;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  clock: Clock;
  store?: MediaStore;
}) {
  const { config } = deps;
  const store = deps.store ?? createMediaStoreFor(config, deps.egress);
  const media = createMediaService({
    dal: createMediaDal(),
    store,
    signer: createMediaSigner(deps.envelope.deriveKey('media-url/v1')),
    projects: deps.projects,
    auditLog: deps.auditLog,
    systemDb: deps.dbs.system,
    // LAYERS_PUBLIC_URL (the social-accounts work adds it to the config), else this machine.
    publicUrl: () => (config as { publicUrl?: string }).publicUrl ?? `http://localhost:${config.port}`,
  });
  const providers: Partial<Record<ProviderName, CopyProvider>> = {
    default: createDefaultProvider(),
    ...createVendorProviders({ config, egress: deps.egress }),
  };
  const generations = createGenerationService({
    dal: createGenerationDal(),
    media,
    projects: deps.projects,
    auditLog: deps.auditLog,
    events: deps.events,
    providers,
    gate: createRenderGate(1),
    systemDb: deps.dbs.system,
    clock: deps.clock,
    maxAttempts: config.generation.maxAttempts,
    videoDurationMs: config.generation.videoDurationMs,
  });
  return { media, generations, providers };
}

function createMediaStoreFor(config: Config, egress: EgressGateway): MediaStore {
  if (config.mediaStore.kind === 'fs') return createFsMediaStore(config.mediaDir);
  const { bucket, endpoint, region, accessKeyId, secretAccessKey } = config.mediaStore.s3;
  if (!bucket || !accessKeyId || !secretAccessKey)
    throw new Error(
      'LAYERS_MEDIA_STORE=s3 needs LAYERS_S3_BUCKET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and LAYERS_S3_REGION or LAYERS_S3_ENDPOINT).',
    );
  return createS3MediaStore({ egress, bucket, endpoint, region, accessKeyId, secretAccessKey });
}
