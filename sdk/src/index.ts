/**
 * @layers/sdk — send app events to Layers from browsers and Node.
 *
 *   import { init } from '@layers/sdk';
 *   const layers = init({ key: 'lyr_pk_…', endpoint: 'https://api.layers.example', appId: 'com.example.app' });
 *   layers.identify('u_123', { email: 'person@example.com', plan: 'pro' }); // email hashed on the device
 *   layers.track('purchase', { price: 9.99 });
 */
import { createClient, type LayersClient } from './client.js';
import type { LayersOptions } from './options.js';

export type { CallOptions, FlushResult, LayersClient, TrackOptions } from './client.js';
export { createClient } from './client.js';
export { type ErrorHandler, type EventRejection, LayersError, type LayersErrorCode } from './errors.js';
export type { DeviceIds, EventContext, JsonObject, SdkEvent } from './event.js';
export { MAX_BATCH_BYTES, MAX_EVENT_BYTES } from './limits.js';
export { normalizeEmail, normalizePhone } from './normalize.js';
export type { LayersOptions } from './options.js';
export type { PageLifecycle } from './page-lifecycle.js';
export { createMemoryStorage, type KeyValueStorage } from './storage.js';
export type { Timers } from './timers.js';
export type { FetchLike } from './transport.js';

let defaultClient: { client: LayersClient; identity: string } | undefined;

/**
 * The app-wide client. Calling `init` again with the same key, endpoint and app id returns the same
 * client (frameworks re-run setup code); different settings throw, because silently keeping the
 * first ones would send events to the wrong project. Use `createClient` for several clients.
 */
export function init(options: LayersOptions): LayersClient {
  const identity = JSON.stringify([options?.key, options?.endpoint, options?.appId]);
  if (defaultClient) {
    if (defaultClient.identity === identity) return defaultClient.client;
    throw new Error(
      'Layers SDK: init() was already called with another key, endpoint or appId; use createClient()',
    );
  }
  const client = createClient(options);
  const shutdown = client.shutdown;
  // After shutdown() the next init() starts a fresh client.
  client.shutdown = () => {
    if (defaultClient?.client === client) defaultClient = undefined;
    return shutdown();
  };
  defaultClient = { client, identity };
  return client;
}
