import { buildApp, type PlatformApp } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import { type Container, createContainer } from '../../src/container.ts';
import { createLogger } from '../../src/http/logging.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { staticResolver } from './static-resolver.ts';
import type { TestApp } from './test-app.ts';

export type SecondInstance = { app: PlatformApp; container: Container; close(): Promise<void> };

/**
 * Another app instance on the test app's database, as a second process behind a load balancer: its
 * own caches, group-commit writer and limits (its own config and clock if given), the same pools.
 */
export async function createSecondInstance(
  t: TestApp,
  opts: { config?: Partial<Config>; clock?: Clock } = {},
): Promise<SecondInstance> {
  const config: Config = Object.freeze({ ...t.config, ...opts.config });
  const container = createContainer({
    config,
    dbs: t.db,
    envelope: t.container.envelope,
    geo: t.container.geo,
    ...(opts.clock ? { clock: opts.clock } : {}),
    resolver: staticResolver(),
  });
  const app = await buildApp({ config, container, logger: createLogger({ level: 'silent' }) });
  return {
    app,
    container,
    async close() {
      await app.close();
      await container.stop();
    },
  };
}
