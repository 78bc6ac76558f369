import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { type Container, createContainer } from '../container.ts';
import { openPlatformDatabase, type PlatformDatabase } from '../db/open-platform-database.ts';
import { loadEnvelope } from '../lib/encryption-key.ts';
import { ensureEventPartitions } from '../modules/ingest/event-partitions.ts';
import { loadGeoResolver } from '../privacy/geo-resolver.ts';
import { assertResidency } from '../privacy/residency.ts';

/** What every command needs: the migrated database, the envelope key and the wired services. */
export type Runtime = { db: PlatformDatabase; container: Container };

export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  // Before any store is opened: a store outside the deployment's region stops the process here.
  assertResidency(config);
  const db = await openPlatformDatabase(config, (msg) => logger.info(msg));
  try {
    // The data dir holds the development key (and media) with any database, not only the embedded
    // one: a bring-your-own-PostgreSQL start on a fresh machine creates it, private to its owner.
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const envelope = await loadEnvelope(config, (msg) => logger.warn(msg));
    const geo = await loadGeoResolver(config.geoipDb ? { dbPath: config.geoipDb } : {});
    await ensureEventPartitions(db.system, new Date());
    return { db, container: createContainer({ config, dbs: db, envelope, geo, logger }) };
  } catch (error) {
    await db.shutdown();
    throw error;
  }
}
