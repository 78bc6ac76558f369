import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabases } from '../../src/db/database.ts';
import { ensureJobQueue } from '../../src/jobs/job-queue.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-cluster.ts';

/**
 * Processes that start together (an api and a worker, two api processes) each set up the job
 * queue's enqueue functions on one database: without a lock, PostgreSQL refuses the concurrent
 * CREATE OR REPLACE with "tuple concurrently updated" and a process fails to start.
 */
describe('job queue set-up', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it('eight processes setting up the queue at once all succeed', async () => {
    const starts = Array.from({ length: 8 }, () =>
      connectDatabases({ system: t.superuser, app: t.superuser }),
    );
    try {
      for (let round = 0; round < 3; round++) {
        const results = await Promise.allSettled(
          starts.map((dbs) => ensureJobQueue(dbs.systemPool, dbs.system as never)),
        );
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      }
    } finally {
      await Promise.all(starts.map((dbs) => dbs.close()));
    }
  }, 60_000);
});
