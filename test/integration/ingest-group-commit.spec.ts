import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.ts';
import type { EventRow } from '../../src/modules/ingest/ingest-dal.ts';
import { createIngestWriter } from '../../src/modules/ingest/ingest-writer.ts';
import { heldIngestDal, viewRow } from '../helpers/held-ingest-dal.ts';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';

/**
 * The group-commit writer against the real database. The DAL is the real one, wrapped only to count
 * flushes and to hold the first one open, so the test can see which writes share a commit.
 */
describe('ingest group commit', () => {
  const s = useSdkProjectApp();

  let n = 0;
  const rows = (count: number): EventRow[] =>
    Array.from({ length: count }, () => {
      n += 1;
      return viewRow(s.projectId, `gc-${n}`, `u_${n % 7}`);
    });

  const storedCount = async (prefix: string[]) => {
    const { rows: found } = await s.t.db.systemPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sdk_events WHERE project_id = $1 AND event_id = ANY($2)',
      [s.projectId, prefix],
    );
    return found[0]?.n;
  };

  it('small writes that arrive during a flush wait for it and then share one commit', async () => {
    const observed = heldIngestDal();
    const writer = createIngestWriter({ pool: s.t.db.appPool, dal: observed.dal, clock: systemClock });
    const first = rows(1);
    const firstWrite = writer.write(s.org.id, first);
    await new Promise((r) => setImmediate(r));
    const small = Array.from({ length: 20 }, () => rows(1));
    const smallWrites = small.map((r) => writer.write(s.org.id, r));
    await new Promise((r) => setTimeout(r, 50));
    expect(observed.flushes).toEqual([1]); // 20 rows waiting are not worth a second concurrent commit
    observed.release();
    await firstWrite;
    const outcomes = await Promise.all(smallWrites);
    expect(observed.flushes).toEqual([1, 20]);
    expect(observed.maxInFlight()).toBe(1);
    expect(outcomes.every((o) => o.inserted.size === 1)).toBe(true);
    expect(await storedCount([...first, ...small.flat()].map((r) => r.event_id))).toBe(21);
  });

  it('once enough rows wait during a flush, they get a commit of their own alongside it', async () => {
    const observed = heldIngestDal();
    const writer = createIngestWriter({ pool: s.t.db.appPool, dal: observed.dal, clock: systemClock });
    const first = rows(1);
    const firstWrite = writer.write(s.org.id, first);
    // Batches of 10 arriving one tick apart: the 20th brings the queue to 200 rows.
    const batches: EventRow[][] = [];
    const writes: Promise<{ inserted: Set<string> }>[] = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setImmediate(r));
      const batch = rows(10);
      batches.push(batch);
      writes.push(writer.write(s.org.id, batch));
    }
    const outcomes = await Promise.all(writes); // all while the first flush is still held
    expect(outcomes.every((o) => o.inserted.size === 10)).toBe(true);
    expect(observed.flushes).toEqual([1, 200]);
    expect(observed.maxInFlight()).toBe(2);
    observed.release();
    expect((await firstWrite).inserted.size).toBe(1);
    expect(await storedCount([...first, ...batches.flat()].map((r) => r.event_id))).toBe(201);
  });
});
