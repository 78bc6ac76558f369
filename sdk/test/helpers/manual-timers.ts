import type { Timers } from '../../src/timers.js';

/**
 * A clock that only moves when the test says so. Timers fire in due order during `advance`, so
 * flush intervals, backoff and Retry-After are tested without real waiting.
 */
export class ManualTimers implements Timers {
  private current: number;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  constructor(startMs = Date.parse('2026-11-27T10:00:00.000Z')) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.current + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Due times of the pending timers, earliest first. */
  dueTimes(): number[] {
    return [...this.pending.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /**
   * Moves the clock to the earliest pending timer and fires it (and any due at the same instant).
   * Unlike a long `advance`, this does not also fire the timeout of a request that the fired timer
   * just started, which real I/O has had no chance to answer yet.
   */
  runNext(): number {
    const next = this.dueTimes()[0];
    if (next === undefined) throw new Error('no pending timer');
    this.advance(next - this.current);
    return next;
  }

  /** Moves the clock forward, firing every timer that comes due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.pending.delete(next[0]);
      this.current = Math.max(this.current, next[1].at);
      next[1].callback();
    }
    this.current = target;
  }
}
