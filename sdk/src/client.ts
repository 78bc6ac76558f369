import { utf8ByteLength } from './byte-size.js';
import { createDispatcher, type FlushResult } from './dispatcher.js';
import { LayersError, safeReporter } from './errors.js';
import type { DeviceIds, EventContext, JsonObject, SdkEvent } from './event.js';
import { sha256Hex, webCryptoAvailable } from './hash.js';
import { protectIdentifiers } from './identifiers.js';
import { uuidV4 } from './ids.js';
import { MAX_EVENT_BYTES, MAX_EVENT_NAME_LENGTH, MAX_USER_ID_LENGTH } from './limits.js';
import { type LayersOptions, resolveOptions } from './options.js';
import { browserPageLifecycle } from './page-lifecycle.js';
import { createEventQueue } from './queue.js';
import { detectBrowserStorage, storageKeys } from './storage.js';
import { systemTimers } from './timers.js';

export type { FlushResult } from './dispatcher.js';

/** The server accepts advertising ids only as UUIDs; anything else would get the event rejected. */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Per-call extras. `context.device` is dropped unless the client has `sendDeviceIds: true`. */
export interface CallOptions {
  context?: EventContext;
}

export interface TrackOptions extends CallOptions {
  /**
   * The user this event is about, instead of the identified one: for servers tracking on behalf of
   * many users with one client (such an event carries no anonymous id).
   */
  userId?: string;
}

export interface LayersClient {
  /** Remembers the user for later events and sends an identify event. Email/phone are hashed first. */
  identify(userId: string, traits?: JsonObject, options?: CallOptions): Promise<void>;
  /** Queues a track event. The promise resolves once it is queued (and persisted); it never rejects. */
  track(event: string, properties?: JsonObject, options?: TrackOptions): Promise<void>;
  /**
   * Forgets the identified user (e.g. on logout) and the anonymous id (a new one is made for the next
   * event), so that what the next person does on this device is not linked to the previous user;
   * queued events keep their ids.
   */
  reset(): void;
  /**
   * This device's anonymous id: generated once and persisted with the queue, sent on every event
   * until identify() (which links it to the user on the server), replaced by reset().
   */
  readonly anonymousId: string;
  /** Sends everything queued now (skipping backoff, never a server's Retry-After). */
  flush(): Promise<FlushResult>;
  /** Final flush, then stops timers and listeners; later calls are ignored. */
  shutdown(): Promise<FlushResult>;
  /** Stops collection: nothing is queued or sent, the persisted queue is erased; remembered. */
  optOut(): void;
  /** Resumes collection after `optOut()` (or `defaultOptOut`); remembered. */
  optIn(): void;
  isOptedOut(): boolean;
  /** Advertising ids, e.g. once the user granted tracking; only sent with `sendDeviceIds: true`. */
  setDeviceIds(ids: DeviceIds | undefined): void;
  /** Events waiting for the server's acknowledgement. */
  readonly queueSize: number;
}

const OPTED_OUT = 'out';
const OPTED_IN = 'in';
/** iOS returns this IDFA when tracking is not authorized: it identifies nobody, so it is not sent. */
const ZERO_ID = /^[0-]+$/;

export function createClient(options: LayersOptions): LayersClient {
  const config = resolveOptions(options);
  const report = safeReporter(options.onError);
  const timers = options.timers ?? systemTimers;
  const storage = options.storage === undefined ? detectBrowserStorage() : (options.storage ?? undefined);
  const keys = storageKeys(config.key, config.appId);
  const sha256 = webCryptoAvailable() ? sha256Hex : undefined;
  const queue = createEventQueue({
    maxSize: config.maxQueueSize,
    storage,
    storageKey: keys.queue,
    report,
  });
  const dispatcher = createDispatcher({
    queue,
    url: config.url,
    key: config.key,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    timers,
    random: options.random ?? Math.random,
    flushAt: config.flushAt,
    flushIntervalMs: config.flushIntervalMs,
    maxBatchBytes: config.maxBatchBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    backoff: { baseMs: config.retryBaseDelayMs, maxMs: config.retryMaxDelayMs },
    report,
  });

  let optedOut =
    readStored(keys.optOut) === OPTED_OUT || (readStored(keys.optOut) === null && config.defaultOptOut);
  let userId = readStored(keys.userId) ?? undefined;
  /** Made (and persisted) with the first event that needs it: an opted-out device never gets one. */
  let anonymousId: string | undefined = readStored(keys.anonymousId) || undefined;
  let deviceIds = options.deviceIds;
  /** Bumped by optOut(): events captured before it must not be queued after it. */
  let generation = 0;
  /** Events are prepared (hashed) asynchronously; the chain keeps them in call order. */
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  function currentAnonymousId(): string {
    if (anonymousId === undefined) {
      anonymousId = uuidV4();
      writeStored(keys.anonymousId, anonymousId);
    }
    return anonymousId;
  }

  function readStored(key: string): string | null {
    try {
      return storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  function writeStored(key: string, value: string | undefined): void {
    try {
      if (value === undefined) storage?.removeItem(key);
      else storage?.setItem(key, value);
    } catch (cause) {
      report(new LayersError('storage_failed', 'Could not persist SDK state', { cause }));
    }
  }

  /** Another tab of the same app may have changed the consent choice since this page loaded. */
  function currentlyOptedOut(): boolean {
    const stored = readStored(keys.optOut);
    if (stored === OPTED_OUT && !optedOut) stopCollecting();
    else if (stored === OPTED_IN) optedOut = false;
    return optedOut;
  }

  function stopCollecting(): void {
    optedOut = true;
    generation++;
    dispatcher.cancel();
    queue.clear();
  }

  function buildContext(event: SdkEvent, callContext: EventContext | undefined): void {
    const context: EventContext = {};
    if (typeof callContext?.ip === 'string' && callContext.ip !== '') context.ip = callContext.ip;
    if (config.sendDeviceIds) {
      const { device, invalid } = cleanDeviceIds({ ...deviceIds, ...callContext?.device });
      if (device) context.device = device;
      if (invalid.length > 0) {
        report(
          new LayersError(
            'invalid_identifier',
            `Identifier removed, not sent: ${invalid.join(', ')} not a UUID`,
            {
              eventIds: [event.event_id],
            },
          ),
        );
      }
    }
    if (Object.keys(context).length > 0) event.context = context;
  }

  function enqueue(event: SdkEvent, traits: JsonObject | undefined): Promise<void> {
    const eventGeneration = generation;
    const prepare = async (): Promise<void> => {
      if (traits) {
        const { traits: safeTraits, problems } = await protectIdentifiers(traits, sha256);
        event.traits = safeTraits;
        if (problems.length > 0) {
          report(
            new LayersError('invalid_identifier', `Identifier removed, not sent: ${problems.join('; ')}`, {
              eventIds: [event.event_id],
            }),
          );
        }
      }
      if (eventGeneration !== generation || closed || currentlyOptedOut()) return;
      // Cannot throw: properties and traits are JSON snapshots already.
      const json = JSON.stringify(event);
      const bytes = utf8ByteLength(json);
      if (bytes > MAX_EVENT_BYTES) {
        report(
          new LayersError(
            'event_too_large',
            `Event is ${bytes} bytes as JSON; the server accepts at most ${MAX_EVENT_BYTES}. Dropped, not sent`,
            { eventIds: [event.event_id] },
          ),
        );
        return;
      }
      // The queued copy is the parsed JSON: later mutations of the app's objects cannot change it,
      // and re-serializing it yields exactly the measured bytes.
      queue.push({ event: JSON.parse(json) as SdkEvent, bytes });
      dispatcher.onEnqueued();
    };
    // `prepare` never throws for a bad event, but a failing chain would silence every later event.
    chain = chain.then(prepare).catch((cause) => {
      report(invalidEvent(event, 'could not be prepared', cause));
    });
    return chain;
  }

  function baseEvent(type: SdkEvent['type']): SdkEvent {
    return {
      event_id: uuidV4(),
      type,
      // Taken now, synchronously: hashing and queueing happen later, delivery maybe days later.
      timestamp: new Date(timers.now()).toISOString(),
      app_id: config.appId,
    };
  }

  function accepting(): boolean {
    return !closed && !currentlyOptedOut();
  }

  const lifecycle = options.pageLifecycle === undefined ? browserPageLifecycle() : options.pageLifecycle;
  const unsubscribe = [
    lifecycle?.onHide(() => {
      if (!optedOut) dispatcher.flushOnPageHide();
    }),
    lifecycle?.onOnline(() => {
      if (!optedOut) dispatcher.onOnline();
    }),
  ];

  if (optedOut) {
    queue.clear();
  } else if (queue.restore() > 0) {
    dispatcher.onRestored();
  }

  return {
    identify(newUserId, traits = {}, callOptions) {
      if (!accepting()) return Promise.resolve();
      const event = baseEvent('identify');
      const problem = checkUserId(newUserId);
      if (problem) {
        report(invalidEvent(event, `identify() ${problem}`));
        return Promise.resolve();
      }
      // Snapshot now: the app may mutate its objects while earlier events are still being hashed.
      const snapshot = jsonSnapshot(event, traits, report);
      if (!snapshot) return Promise.resolve();
      // Sent with the anonymous id while none was identified yet: the server links the two.
      if (userId === undefined) event.anonymous_id = currentAnonymousId();
      userId = newUserId;
      writeStored(keys.userId, newUserId);
      event.user_id = newUserId;
      buildContext(event, callOptions?.context);
      return enqueue(event, snapshot);
    },

    track(name, properties = {}, callOptions) {
      if (!accepting()) return Promise.resolve();
      const event = baseEvent('track');
      if (typeof name !== 'string' || name === '' || name.length > MAX_EVENT_NAME_LENGTH) {
        report(invalidEvent(event, `track() needs an event name of 1–${MAX_EVENT_NAME_LENGTH} characters`));
        return Promise.resolve();
      }
      const eventUserId = callOptions?.userId ?? userId;
      const problem = eventUserId === undefined ? undefined : checkUserId(eventUserId);
      if (problem) {
        report(invalidEvent(event, `track() ${problem}`));
        return Promise.resolve();
      }
      const snapshot = jsonSnapshot(event, properties, report);
      if (!snapshot) return Promise.resolve();
      event.event = name;
      // Before identify(): the device's anonymous id instead of a user id.
      if (eventUserId === undefined) event.anonymous_id = currentAnonymousId();
      else event.user_id = eventUserId;
      event.properties = snapshot;
      buildContext(event, callOptions?.context);
      return enqueue(event, undefined);
    },

    reset() {
      userId = undefined;
      writeStored(keys.userId, undefined);
      anonymousId = undefined;
      writeStored(keys.anonymousId, undefined);
    },

    get anonymousId() {
      return currentAnonymousId();
    },

    async flush() {
      await chain;
      if (optedOut) return { delivered: 0, pending: 0 };
      return dispatcher.flush();
    },

    async shutdown() {
      if (closed) return { delivered: 0, pending: queue.size };
      closed = true;
      await chain;
      const result = optedOut ? { delivered: 0, pending: 0 } : await dispatcher.flush();
      dispatcher.stop();
      for (const off of unsubscribe) off?.();
      queue.persistNow();
      return result;
    },

    optOut() {
      writeStored(keys.optOut, OPTED_OUT);
      // Withdrawn consent: the device's anonymous id goes too (a new one is made after optIn()).
      anonymousId = undefined;
      writeStored(keys.anonymousId, undefined);
      stopCollecting();
    },

    optIn() {
      writeStored(keys.optOut, OPTED_IN);
      optedOut = false;
    },

    isOptedOut() {
      return currentlyOptedOut();
    },

    setDeviceIds(ids) {
      deviceIds = ids;
    },

    get queueSize() {
      return queue.size;
    },
  };
}

function invalidEvent(event: SdkEvent, why: string, cause?: unknown): LayersError {
  return new LayersError('invalid_event', `Event not sent: ${why}`, {
    eventIds: [event.event_id],
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A JSON deep copy of the app's object, or undefined (reported) when it cannot be serialized. */
function jsonSnapshot(
  event: SdkEvent,
  value: unknown,
  report: (error: LayersError) => void,
): JsonObject | undefined {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    report(invalidEvent(event, 'properties and traits must be a plain object'));
    return undefined;
  }
  try {
    return JSON.parse(JSON.stringify(value)) as JsonObject;
  } catch (cause) {
    report(invalidEvent(event, 'properties or traits are not JSON-serializable', cause));
    return undefined;
  }
}

function checkUserId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || value.length > MAX_USER_ID_LENGTH) {
    return `needs a user id of 1–${MAX_USER_ID_LENGTH} characters`;
  }
  return undefined;
}

/** Keeps real advertising ids; the all-zero one is silently dropped, malformed ones are reported. */
function cleanDeviceIds(ids: DeviceIds): { device: DeviceIds | undefined; invalid: string[] } {
  const device: DeviceIds = {};
  const invalid: string[] = [];
  for (const kind of ['idfa', 'gaid'] as const) {
    const id = ids[kind];
    if (id === undefined || id === null || id === '' || (typeof id === 'string' && ZERO_ID.test(id)))
      continue;
    if (typeof id === 'string' && UUID.test(id)) device[kind] = id;
    else invalid.push(kind);
  }
  if (!device.idfa && !device.gaid) return { device: undefined, invalid };
  // The tracking flag rides with the ids (the server forwards ids only when it is true). An app that
  // turned sendDeviceIds on has the end customer's consent, unless it says otherwise here.
  device.ad_tracking_enabled = ids.ad_tracking_enabled !== false;
  return { device, invalid };
}
