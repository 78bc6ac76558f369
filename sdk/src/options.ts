import type { ErrorHandler } from './errors.js';
import type { DeviceIds } from './event.js';
import {
  batchBodyBytes,
  MAX_APP_ID_LENGTH,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
} from './limits.js';
import type { PageLifecycle } from './page-lifecycle.js';
import type { KeyValueStorage } from './storage.js';
import type { Timers } from './timers.js';
import type { FetchLike } from './transport.js';

export interface LayersOptions {
  /** Publishable key of the project, `lyr_pk_…`. A secret key (`lyr_sk_…`) is refused. */
  key: string;
  /** Base URL of the Layers API; events go to `{endpoint}/v1/sdk/events`. */
  endpoint: string;
  /** Your app's id, sent as `app_id` on every event (e.g. `com.example.app`). */
  appId: string;
  /** Send as soon as this many events are queued; also the most events in one request (≤ 1000). Default 20. */
  flushAt?: number;
  /** Send queued events at most this long after the first of them was queued. Default 5000 ms. */
  flushIntervalMs?: number;
  /** Most events kept while they cannot be delivered; the oldest are dropped beyond. Default 1000. */
  maxQueueSize?: number;
  /** Byte budget of one request body; capped at the server's 512000. Default 512000. */
  maxBatchBytes?: number;
  /** A request without an answer after this long is aborted and retried. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** First retry delay; doubles per consecutive failure, with jitter. Default 1000 ms. */
  retryBaseDelayMs?: number;
  /** Cap of the retry delay. Default 60000 ms. */
  retryMaxDelayMs?: number;
  /**
   * Whether `context.device` (IDFA/GAID) may be sent. Default false: advertising ids need the end
   * customer's consent (Apple ATT, GDPR/ePrivacy), which only the app can know it has.
   */
  sendDeviceIds?: boolean;
  /** Advertising ids of this device, attached to every event when `sendDeviceIds` is true. */
  deviceIds?: DeviceIds;
  /** Start opted out until `optIn()` (consent-first setups). A stored choice wins. Default false. */
  defaultOptOut?: boolean;
  /** Receives dropped, rejected and deferred events. See `LayersError`. */
  onError?: ErrorHandler;
  /**
   * Persistence of the queue, opt-out choice and user id. Default: `localStorage` in browsers,
   * nothing (memory only) in Node. `null` disables persistence.
   */
  storage?: KeyValueStorage | null;
  /** Clock and timers (tests). Default: the global ones. */
  timers?: Timers;
  /** `fetch` implementation. Default: the global `fetch`. */
  fetch?: FetchLike;
  /** Source of jitter in [0, 1). Default: `Math.random`. */
  random?: () => number;
  /** Page hide / online notifications. Default: the browser's; none in Node. `null` disables. */
  pageLifecycle?: PageLifecycle | null;
}

export interface ResolvedOptions {
  key: string;
  url: string;
  appId: string;
  flushAt: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  maxBatchBytes: number;
  requestTimeoutMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  sendDeviceIds: boolean;
  defaultOptOut: boolean;
}

/** Largest event plus the batch envelope: a smaller budget could leave an event unsendable forever. */
const MIN_BATCH_BYTES = batchBodyBytes([MAX_EVENT_BYTES]);

/**
 * Validates the options once, at creation. Misconfiguration throws right away (the developer sees it
 * while integrating); everything after creation reports through `onError` instead of throwing.
 */
export function resolveOptions(options: LayersOptions): ResolvedOptions {
  if (typeof options?.key !== 'string' || !options.key.startsWith('lyr_pk_')) {
    throw new TypeError(
      typeof options?.key === 'string' && options.key.startsWith('lyr_sk_')
        ? 'Layers SDK: a secret key (lyr_sk_…) must never ship in an app; use the project’s publishable key (lyr_pk_…)'
        : 'Layers SDK: `key` must be a publishable key (lyr_pk_…)',
    );
  }
  if (typeof options.appId !== 'string' || options.appId.trim() === '') {
    throw new TypeError('Layers SDK: `appId` is required');
  }
  if (options.appId.length > MAX_APP_ID_LENGTH) {
    throw new TypeError(`Layers SDK: \`appId\` may be at most ${MAX_APP_ID_LENGTH} characters`);
  }
  const flushAt = positiveInteger('flushAt', options.flushAt, 20);
  if (flushAt > MAX_BATCH_EVENTS) {
    throw new TypeError(
      `Layers SDK: \`flushAt\` may be at most ${MAX_BATCH_EVENTS} (the server's batch maximum)`,
    );
  }
  return {
    key: options.key,
    url: `${parseEndpoint(options.endpoint)}/v1/sdk/events`,
    appId: options.appId,
    flushAt,
    flushIntervalMs: positiveInteger('flushIntervalMs', options.flushIntervalMs, 5_000),
    maxQueueSize: positiveInteger('maxQueueSize', options.maxQueueSize, 1_000),
    maxBatchBytes: Math.min(
      MAX_BATCH_BYTES,
      Math.max(MIN_BATCH_BYTES, positiveInteger('maxBatchBytes', options.maxBatchBytes, MAX_BATCH_BYTES)),
    ),
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 10_000),
    retryBaseDelayMs: positiveInteger('retryBaseDelayMs', options.retryBaseDelayMs, 1_000),
    retryMaxDelayMs: positiveInteger('retryMaxDelayMs', options.retryMaxDelayMs, 60_000),
    sendDeviceIds: options.sendDeviceIds === true,
    defaultOptOut: options.defaultOptOut === true,
  };
}

function parseEndpoint(endpoint: unknown): string {
  let url: URL;
  try {
    url = new URL(String(endpoint));
  } catch {
    throw new TypeError('Layers SDK: `endpoint` must be an absolute URL, e.g. https://api.layers.example');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('Layers SDK: `endpoint` must be an http(s) URL');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`Layers SDK: \`${name}\` must be a positive integer`);
  }
  return value;
}
