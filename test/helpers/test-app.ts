import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type PlatformApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Container, createContainer } from '../../src/container.ts';
import type { AppInstance } from '../../src/http/app-types.ts';
import { createLogger } from '../../src/http/logging.ts';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import { ensureEventPartitions } from '../../src/modules/ingest/event-partitions.ts';
import type { HostResolver } from '../../src/modules/webhooks/host-resolver.ts';
import type { PublisherRegistry } from '../../src/platforms/publishing-registry.ts';
import { type GeoResolver, loadGeoResolver } from '../../src/privacy/geo-resolver.ts';
import { staticResolver } from './static-resolver.ts';
import { createTestDatabase, type TestDatabase } from './test-cluster.ts';

let geoResolver: Promise<GeoResolver> | undefined;
/** The GeoIP database is loaded once per test worker, as it is once per server process. */
export function sharedGeoResolver(): Promise<GeoResolver> {
  geoResolver ??= loadGeoResolver();
  return geoResolver;
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export type TestApp = {
  app: PlatformApp;
  container: Container;
  db: TestDatabase;
  config: Config;
  /** Every log line the app wrote, as raw JSON text. */
  logs: string[];
  close(): Promise<void>;
};

/** The real application on a fresh cloned database, with its logs captured for leak checks. */
export async function createTestApp(
  opts: {
    env?: Record<string, string>;
    clock?: Clock;
    resolver?: HostResolver;
    /** Publishers the container uses instead of the vendor ones (publishing tests). */
    publishers?: PublisherRegistry;
  } = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig({
    LAYERS_ADMIN_TOKEN: ADMIN_TOKEN,
    LAYERS_ENCRYPTION_KEY: generateKeyEncryptionKey(),
    LOG_LEVEL: 'info',
    ...opts.env,
  });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: config.logLevel, stream });
  const envelope = createEnvelope(parseKeyEncryptionKeys(config.encryptionKey as string));
  const geo = await sharedGeoResolver();
  await ensureEventPartitions(db.system, (opts.clock ?? systemClock).now());
  const container = createContainer({
    config,
    dbs: db,
    envelope,
    geo,
    ...(opts.clock ? { clock: opts.clock } : {}),
    // Webhook hosts never reach a real resolver in tests: unknown names do not resolve.
    resolver: opts.resolver ?? staticResolver(),
    ...(opts.publishers ? { publishers: opts.publishers } : {}),
  });
  const app = await buildApp({ config, container, logger });
  return {
    app,
    container,
    db,
    config,
    logs,
    async close() {
      await app.close();
      await container.stop();
      await db.drop();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export type TestOrg = { id: string; secret: string; keyId: string };

export async function createOrg(
  app: AppInstance,
  name = 'Acme',
  tier: 'standard' | 'partner' = 'standard',
): Promise<TestOrg> {
  const res = await app.inject({
    method: 'POST',
    url: '/admin/v1/orgs',
    headers: bearer(ADMIN_TOKEN),
    payload: { name, tier },
  });
  if (res.statusCode !== 201) throw new Error(`createOrg failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.id, secret: body.api_key.secret, keyId: body.api_key.id };
}

export async function createProject(
  app: AppInstance,
  org: TestOrg,
  name = 'Project',
): Promise<{ id: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: bearer(org.secret),
    payload: { name },
  });
  if (res.statusCode !== 201) throw new Error(`createProject failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function createKey(
  app: AppInstance,
  org: TestOrg,
  body: { name?: string; type: 'secret' | 'publishable'; project_id?: string },
): Promise<{ id: string; secret: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: bearer(org.secret),
    payload: { name: 'k', ...body },
  });
  if (res.statusCode !== 201) throw new Error(`createKey failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export function expectError(res: LightMyRequestResponse, status: number, code?: string) {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  const body = res.json();
  if (!body.error || typeof body.error.request_id !== 'string')
    throw new Error(`not an error body: ${res.body}`);
  if (code && body.error.code !== code) throw new Error(`expected code ${code}, got ${body.error.code}`);
  return body.error as { type: string; code: string; message: string; param?: string; request_id: string };
}

/** An org with one project and that project's publishable key: what SDK-facing tests start from. */
export type SdkProject = { org: TestOrg; projectId: string; publishableKey: string };

export async function createSdkProject(app: PlatformApp, orgName = 'Acme'): Promise<SdkProject> {
  const org = await createOrg(app, orgName);
  const projectId = (await createProject(app, org)).id;
  const publishableKey = (await createKey(app, org, { type: 'publishable', project_id: projectId })).secret;
  return { org, projectId, publishableKey };
}
