/**
 * The clock and timers the SDK uses, injectable so that tests can drive time (flush interval,
 * backoff, Retry-After) without real sleeps. Event timestamps come from `now()` as well.
 */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle: unknown = globalThis.setTimeout(callback, ms);
    // In Node an SDK timer must not keep the process alive (an offline app would otherwise never
    // exit while retrying); apps call `shutdown()` to deliver what is queued before exiting.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};
