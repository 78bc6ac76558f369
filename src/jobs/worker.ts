import { parseCronItems, type Runner, run, type TaskList, Logger as WorkerLogger } from 'graphile-worker';
import type { Logger } from 'pino';
import type { Container } from '../container.ts';
import { JOB_CATALOG, validatePayload } from './job-catalog.ts';

/**
 * Runs the job catalog on graphile-worker (PostgreSQL SKIP LOCKED + LISTEN/NOTIFY): any number of
 * worker processes on any number of machines share the same queue. Signals are ours to handle, so
 * the worker stops in order with the rest of the process.
 */
export async function startWorker(opts: {
  container: Container;
  logger: Logger;
  concurrency?: number;
}): Promise<Runner> {
  const { container, logger } = opts;
  const taskList: TaskList = {};
  for (const job of JOB_CATALOG) {
    taskList[job.name] = async (payload, helpers) => {
      validatePayload(job, payload);
      await job.run(payload as never, {
        container,
        logger: logger.child({ job: job.name }),
        attempt: helpers.job.attempts,
      });
    };
  }
  const cronItems = parseCronItems(
    JOB_CATALOG.filter((j) => j.cron).map((j) => ({
      task: j.name,
      match: j.cron as string,
      identifier: j.name,
      options: { backfillPeriod: 0, maxAttempts: j.maxAttempts },
    })),
  );
  const runner = await run(
    {
      pgPool: container.dbs.systemPool,
      concurrency: opts.concurrency ?? 4,
      noHandleSignals: true,
      pollInterval: 2_000,
      logger: new WorkerLogger((scope) => (level, message) => {
        const method = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
        logger[method]({ worker: scope.label ?? 'graphile-worker' }, message);
      }),
    },
    taskList,
    cronItems,
  );
  for (const job of JOB_CATALOG) {
    if (!job.startupDelayMs) continue;
    await runner.addJob(
      job.name,
      {},
      {
        runAt: new Date(Date.now() + job.startupDelayMs(container)),
        jobKey: `${job.name}:startup`,
        maxAttempts: job.maxAttempts,
      },
    );
  }
  return runner;
}
