import { type BackoffPolicy, backoffDelay, retryAfterJitter } from './backoff.js';
import { serializeBatch, takeBatch } from './batcher.js';
import { type ErrorHandler, LayersError } from './errors.js';
import type { QueuedEvent } from './event.js';
import { batchBodyBytes, KEEPALIVE_MAX_BYTES } from './limits.js';
import type { EventQueue } from './queue.js';
import type { Timers } from './timers.js';
import { type FetchLike, type SendOutcome, sendBatch } from './transport.js';

/**
 * Decides WHEN to send and what happens after: the count/size/time triggers, one request at a time,
 * retries with backoff, the Retry-After floor, and the keepalive flush when the page is hidden.
 */
export interface DispatcherOptions {
  queue: EventQueue;
  url: string;
  key: string;
  fetch: FetchLike;
  timers: Timers;
  random: () => number;
  flushAt: number;
  flushIntervalMs: number;
  maxBatchBytes: number;
  requestTimeoutMs: number;
  backoff: BackoffPolicy;
  report: ErrorHandler;
}

export interface FlushResult {
  /** Events the server acknowledged during this flush. */
  delivered: number;
  /** Events still queued afterwards (waiting for a retry, or Retry-After). */
  pending: number;
}

export type Dispatcher = ReturnType<typeof createDispatcher>;

/** What a send did to the queue: removed the batch (answered or refused) or left it for later. */
type Progress = 'acknowledged' | 'dropped' | 'deferred';

export function createDispatcher(options: DispatcherOptions) {
  const { queue, timers, report } = options;
  const inFlight = new Set<string>();
  const controllers = new Set<AbortController>();
  let draining: Promise<number> | undefined;
  let wakeTimer: unknown;
  let wakeAt = Number.POSITIVE_INFINITY;
  /** Set by a server's Retry-After: nothing is sent before, not even by an explicit flush(). */
  let holdUntil = 0;
  /** Set by our own backoff: automatic sends wait for it; flush() and page hide do not. */
  let backoffUntil = 0;
  let failures = 0;
  let keepaliveBytesInFlight = 0;
  /** Bumped by cancel(): answers to requests from before it must not touch the queue's state. */
  let epoch = 0;
  let stopped = false;

  function wake(at: number): void {
    if (stopped || at >= wakeAt) return;
    if (wakeTimer !== undefined) timers.clearTimeout(wakeTimer);
    wakeAt = at;
    wakeTimer = timers.setTimeout(
      () => {
        wakeTimer = undefined;
        wakeAt = Number.POSITIVE_INFINITY;
        void drain(false);
      },
      Math.max(0, at - timers.now()),
    );
  }

  function clearWake(): void {
    if (wakeTimer !== undefined) timers.clearTimeout(wakeTimer);
    wakeTimer = undefined;
    wakeAt = Number.POSITIVE_INFINITY;
  }

  function pendingStats(): { count: number; bytes: number } {
    let count = 0;
    const sizes: number[] = [];
    for (const item of queue.items()) {
      if (inFlight.has(item.event.event_id)) continue;
      count++;
      sizes.push(item.bytes);
    }
    return { count, bytes: batchBodyBytes(sizes) };
  }

  function onOutcome(batch: QueuedEvent[], outcome: SendOutcome, sentEpoch: number): Progress {
    const ids = batch.map((item) => item.event.event_id);
    for (const id of ids) inFlight.delete(id);
    if (sentEpoch !== epoch) return 'deferred';

    if (outcome.kind === 'acknowledged') {
      failures = 0;
      backoffUntil = 0;
      queue.remove(ids);
      const rejections = outcome.rejected.flatMap((r) => {
        const eventId = ids[r.index];
        return eventId === undefined ? [] : [{ eventId, code: r.code, message: r.message }];
      });
      if (rejections.length > 0) {
        report(
          new LayersError(
            'event_rejected',
            `The server rejected ${rejections.length} event(s) of the batch`,
            {
              status: outcome.status,
              eventIds: rejections.map((r) => r.eventId),
              rejections,
            },
          ),
        );
      }
      return 'acknowledged';
    }

    if (outcome.kind === 'drop') {
      // Sending the same batch again would fail the same way (bad key, malformed, too large).
      queue.remove(ids);
      report(
        new LayersError('batch_rejected', `Batch of ${ids.length} event(s) refused: ${outcome.reason}`, {
          status: outcome.status,
          eventIds: ids,
        }),
      );
      return 'dropped';
    }

    failures++;
    const now = timers.now();
    let delay: number;
    if (outcome.retryAfterMs !== undefined) {
      holdUntil = Math.max(holdUntil, now + outcome.retryAfterMs);
      delay = outcome.retryAfterMs + retryAfterJitter(outcome.retryAfterMs, options.random);
    } else {
      delay = backoffDelay(failures, options.backoff, options.random);
    }
    backoffUntil = Math.max(backoffUntil, now + delay);
    report(
      new LayersError('delivery_failed', `Delivery failed (${outcome.reason}); retrying in ${delay} ms`, {
        ...(outcome.status === undefined ? {} : { status: outcome.status }),
        eventIds: ids,
        retryInMs: delay,
      }),
    );
    // The retry replaces a pending interval wake-up, which would only find the gate closed.
    clearWake();
    wake(backoffUntil);
    return 'deferred';
  }

  async function send(batch: QueuedEvent[], keepalive: boolean): Promise<Progress> {
    const sentEpoch = epoch;
    for (const item of batch) inFlight.add(item.event.event_id);
    const controller = new AbortController();
    controllers.add(controller);
    // A server that accepts the connection and never answers must not stall delivery forever.
    const timeout = timers.setTimeout(() => controller.abort(), options.requestTimeoutMs);
    try {
      const outcome = await sendBatch(options.fetch, {
        url: options.url,
        key: options.key,
        body: serializeBatch(batch),
        keepalive,
        signal: controller.signal,
        nowMs: timers.now(),
      });
      return onOutcome(batch, outcome, sentEpoch);
    } finally {
      timers.clearTimeout(timeout);
      controllers.delete(controller);
    }
  }

  /** Sends batch after batch until nothing is left, a send fails, or a gate says wait. */
  function drain(explicit: boolean): Promise<number> {
    if (draining) return draining;
    const run = async (): Promise<number> => {
      let delivered = 0;
      while (!stopped) {
        const now = timers.now();
        const gate = explicit ? holdUntil : Math.max(holdUntil, backoffUntil);
        if (now < gate) {
          if (queue.size > 0) wake(gate);
          break;
        }
        const batch = takeBatch(queue.items(), inFlight, {
          maxEvents: options.flushAt,
          maxBytes: options.maxBatchBytes,
        });
        if (batch.length === 0) break;
        const progress = await send(batch, false);
        if (progress === 'deferred') break;
        if (progress === 'acknowledged') delivered += batch.length;
      }
      return delivered;
    };
    draining = run().finally(() => {
      draining = undefined;
    });
    return draining;
  }

  return {
    /** After each queued event: send now if a count or size trigger is reached, else arm the timer. */
    onEnqueued(): void {
      if (stopped) return;
      const pending = pendingStats();
      if (pending.count >= options.flushAt || pending.bytes >= options.maxBatchBytes) {
        void drain(false);
      } else if (pending.count > 0) {
        wake(Math.max(timers.now() + options.flushIntervalMs, backoffUntil, holdUntil));
      }
    },

    /** Explicit flush: skips our own backoff (the app asked), never a server's Retry-After. */
    async flush(): Promise<FlushResult> {
      let delivered = 0;
      backoffUntil = 0;
      if (draining) delivered += await draining;
      delivered += await drain(true);
      return { delivered, pending: queue.size };
    },

    /**
     * The page is being hidden and may never come back: persist synchronously, then send what fits
     * into the browser's 64 KiB keepalive quota with `keepalive: true` so the requests survive the
     * unload. What does not fit stays persisted and goes out on the next page load.
     */
    flushOnPageHide(): void {
      queue.persistNow();
      if (stopped || timers.now() < holdUntil) return;
      for (;;) {
        const budget = Math.min(options.maxBatchBytes, KEEPALIVE_MAX_BYTES - keepaliveBytesInFlight);
        const batch = takeBatch(queue.items(), inFlight, { maxEvents: options.flushAt, maxBytes: budget });
        if (batch.length === 0) return;
        const bytes = batchBodyBytes(batch.map((item) => item.bytes));
        keepaliveBytesInFlight += bytes;
        void send(batch, true).finally(() => {
          keepaliveBytesInFlight -= bytes;
        });
      }
    },

    /** Connectivity is back: our backoff was a guess about the network, so try now. */
    onOnline(): void {
      backoffUntil = 0;
      if (queue.size > 0) void drain(false);
    },

    /** Restored events from a previous page load go out on the normal timer. */
    onRestored(): void {
      if (queue.size > 0) wake(timers.now() + options.flushIntervalMs);
    },

    /** Opt-out: abort requests in flight and forget all timing state. */
    cancel(): void {
      epoch++;
      for (const controller of controllers) controller.abort();
      controllers.clear();
      inFlight.clear();
      clearWake();
      // holdUntil stays: the server's Retry-After holds whatever the app's consent state.
      backoffUntil = 0;
      failures = 0;
    },

    stop(): void {
      stopped = true;
      clearWake();
    },

    get inFlightCount(): number {
      return inFlight.size;
    },
  };
}
