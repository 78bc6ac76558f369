import { describe, expect, it } from 'vitest';
import { createDeadlines } from './egress-deadlines.ts';

/** The gateway's shared deadline sweep: an attempt past its deadline is aborted within a tick. */
describe('egress deadlines', () => {
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  };

  it('aborts an attempt past its deadline, and only that one', async () => {
    let clock = 0;
    const deadlines = createDeadlines({ tickMs: 2, now: () => clock });
    const late = deadlines.watch(100);
    const soon = deadlines.watch(10);
    const released = deadlines.watch(10);
    const fired: string[] = [];
    late.attempt = { expire: () => fired.push('late') };
    soon.attempt = { expire: () => fired.push('soon') };
    released.attempt = { expire: () => fired.push('released') };
    deadlines.release(released);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toEqual([]);
    clock = 10;
    await until(() => fired.length > 0);
    expect(fired).toEqual(['soon']);
    expect([soon.expired, late.expired, released.expired]).toEqual([true, false, false]);
    expect(deadlines.size()).toBe(1);
    clock = 100;
    await until(() => fired.length > 1);
    expect(fired).toEqual(['soon', 'late']);
    // Nothing watched: the sweep has stopped; a new watch starts it again.
    expect(deadlines.size()).toBe(0);
    const again = deadlines.watch(50);
    await until(() => again.expired);
    expect(again.expired).toBe(true);
    deadlines.stop();
  });

  it('reuses a released slot, and a second release of an expired watch leaves its new holder watched', async () => {
    let clock = 0;
    const deadlines = createDeadlines({ tickMs: 2, now: () => clock });
    const first = deadlines.watch(10);
    const fired: string[] = [];
    first.attempt = { expire: () => fired.push('first') };
    clock = 10;
    await until(() => first.expired);
    // The sweep released it; the next watch takes its slot.
    const second = deadlines.watch(50);
    second.attempt = { expire: () => fired.push('second') };
    expect(second.slot).toBe(first.slot);
    // The first attempt ends and releases its watch again (as the gateway's `finally` does).
    deadlines.release(first);
    expect(deadlines.size()).toBe(1);
    clock = 50;
    await until(() => second.expired);
    expect(fired).toEqual(['first', 'second']);
    expect(deadlines.size()).toBe(0);
    deadlines.stop();
  });
});
