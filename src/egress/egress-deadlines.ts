/**
 * The whole-call deadlines of the gateway's attempts in flight, swept by one interval timer instead
 * of a timer per attempt: a setTimeout and its clearTimeout cost ~0.2 µs per call on the caller's
 * thread. An attempt is aborted at most one tick after its deadline. The timer runs only while an
 * attempt is watched and never holds the process open by itself (an attempt in flight has its
 * socket or connection attempt doing that).
 *
 * The watched attempts are kept in an array of reusable slots, not a Set: measured (--trace-gc-nvp),
 * objects added to a long-lived Set and deleted again were still promoted to the old generation, so
 * every call had its whole object graph (its watch reaches the attempt, hence the call's promise,
 * headers and body) promoted: on the egress bench, ~2.2 KB a call and ~3.5 µs of the caller's
 * garbage collection. A slot cleared on release promoted nothing.
 */
export const DEADLINE_TICK_MS = 10;

/**
 * What a watch ends when the deadline passes: the attempt's own object, not a closure over it. With
 * a closure made per attempt (`() => collector.abort(…)`), the egress bench still saw every call's
 * objects promoted to the old generation, slots or not; with the object itself, none were.
 */
export type Expirable = { expire(): void };

export type WatchedAttempt = {
  readonly at: number;
  /** Set when the deadline passed, before the attempt is told. */
  expired: boolean;
  /** The attempt, told when its deadline passes (set by whoever runs it: egress-attempt.ts). */
  attempt: Expirable | undefined;
  /** Where the watch keeps it while it is watched. */
  readonly slot: number;
};

export function createDeadlines(opts: { tickMs?: number; now?: () => number } = {}) {
  const tickMs = opts.tickMs ?? DEADLINE_TICK_MS;
  const now = opts.now ?? (() => performance.now());
  const slots: (WatchedAttempt | undefined)[] = [];
  const freeSlots: number[] = [];
  let watchedCount = 0;
  let timer: NodeJS.Timeout | undefined;

  function release(w: WatchedAttempt): void {
    // Released twice (expired, then its attempt ended), or its slot already serves another attempt.
    if (slots[w.slot] !== w) return;
    slots[w.slot] = undefined;
    freeSlots.push(w.slot);
    watchedCount--;
  }

  function sweep(): void {
    const t = now();
    for (let i = 0; i < slots.length; i++) {
      const w = slots[i];
      if (w !== undefined && w.at <= t) {
        release(w);
        w.expired = true;
        w.attempt?.expire();
      }
    }
    if (watchedCount === 0) stop();
  }

  function stop(): void {
    clearInterval(timer);
    timer = undefined;
  }

  return {
    /** Watches an attempt whose call must end by `at` (performance.now() time). */
    watch(at: number): WatchedAttempt {
      const slot = freeSlots.pop() ?? slots.length;
      const w: WatchedAttempt = { at, expired: false, attempt: undefined, slot };
      slots[slot] = w;
      watchedCount++;
      if (timer === undefined) {
        timer = setInterval(sweep, tickMs);
        timer.unref();
      }
      return w;
    },
    /** The attempt ended (answered or failed): its deadline no longer applies. */
    release,
    /** Attempts being watched (for tests). */
    size: () => watchedCount,
    stop,
  };
}
