import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { enqueueJob, removeJob } from '../../jobs/job-queue.ts';
import type { ErasureExecutor } from './erasure-executor.ts';

export const ERASE_JOB = 'dsr.erase';

/**
 * Runs an erasure with a watchdog. graphile-worker only frees a job locked by a crashed worker after
 * hours; an erasure must not wait that long. So the run first schedules a copy of itself `watchdogMs`
 * ahead under a job key, pushes it further ahead after every batch (a heartbeat), and removes it when
 * done. If the worker dies, the watchdog fires on any worker and resumes from the receipt's counts.
 * Erasure is idempotent, so even two runs at once delete each row once and count it once.
 */
export async function runErasureJob(
  deps: { db: Kysely<Database>; erasure: ErasureExecutor; watchdogMs: number },
  payload: { org_id: string; dsr_id: string },
): Promise<void> {
  const jobKey = `dsr-watchdog:${payload.dsr_id}`;
  const arm = () =>
    enqueueJob(deps.db, ERASE_JOB, payload, {
      jobKey,
      runAt: new Date(Date.now() + deps.watchdogMs),
      maxAttempts: 25,
    });
  await arm();
  await deps.erasure.run(payload.org_id, payload.dsr_id, { heartbeat: arm });
  await removeJob(deps.db, jobKey);
}
