import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { EgressLedgerDal, EgressLedgerRow } from './egress-ledger-dal.ts';

/**
 * The egress ledger's writer: rows are batched and written off the caller's path, in group commits.
 * A row appended while no batch is being written starts one at the next turn of the event loop;
 * rows appended while a batch is being written join the next one. So under load one INSERT carries
 * every row that arrived during the previous one, and alone a row waits one round trip.
 *
 * What a crash can lose, and why no acknowledged row is lost:
 * - `append()` returns a promise that resolves true only once the row's batch has COMMITTED. The
 *   gateway hands that promise to its caller as `recorded` (EgressResponse / EgressError). A row is
 *   acknowledged exactly when that promise resolves, and then it is in the database.
 * - A caller whose effect must be accounted (a publication marked published, forwarded events
 *   deleted from the queue, a job marked done) awaits `recorded` before it commits its own state.
 *   If the process dies first, that work is not acknowledged either: the job is retried, and the
 *   retry's call gets its own row.
 * - What can be lost is the rows of calls that completed but whose batch had not committed yet:
 *   at most the rows appended since the last commit began, i.e. the calls of about one INSERT round
 *   trip (the egress bench reports the largest number of unacknowledged rows it saw). A call that
 *   left but whose row was never acknowledged is the one case the ledger can miss, and only in a crash.
 * - While the database is unreachable, rows stay buffered and the batch is retried every
 *   RETRY_MS; past MAX_BUFFERED rows the oldest are dropped, their promises resolve false, and the
 *   drop is counted (`layers_egress_ledger_dropped_total`).
 */
const BATCH_ROWS = 2_000;
const MAX_BUFFERED = 50_000;
const RETRY_MS = 1_000;

type Pending = { row: EgressLedgerRow; done: (committed: boolean) => void };

export function createEgressLedgerWriter(deps: {
  db: Kysely<Database>;
  dal: EgressLedgerDal;
  metrics?: { written(n: number): void; dropped(n: number): void };
  maxBuffered?: number;
  retryMs?: number;
}) {
  const maxBuffered = deps.maxBuffered ?? MAX_BUFFERED;
  const retryMs = deps.retryMs ?? RETRY_MS;
  let queue: Pending[] = [];
  let inFlight = 0;
  let writing: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let highWater = 0;
  let stopped = false;

  function dropOldest(): void {
    const excess = queue.length - maxBuffered;
    if (excess <= 0) return;
    for (const p of queue.splice(0, excess)) p.done(false);
    deps.metrics?.dropped(excess);
  }

  /** Writes batches until the queue is empty; on a failure, keeps the rows and stops (returns false). */
  async function drain(): Promise<boolean> {
    while (queue.length > 0) {
      const batch = queue.splice(0, BATCH_ROWS);
      inFlight = batch.length;
      try {
        await deps.dal.insert(
          deps.db,
          batch.map((p) => p.row),
        );
      } catch {
        queue = batch.concat(queue);
        dropOldest();
        return false;
      } finally {
        inFlight = 0;
      }
      deps.metrics?.written(batch.length);
      for (const p of batch) p.done(true);
    }
    return true;
  }

  function schedule(): void {
    if (writing || retryTimer || stopped) return;
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(drain).then((ok) => {
      writing = undefined;
      if (!ok && !stopped) {
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          schedule();
        }, retryMs);
        retryTimer.unref();
      } else if (queue.length > 0) schedule();
    });
  }

  return {
    /** Buffers one row; resolves true once it is committed, false if it was dropped. Never rejects. */
    append(row: EgressLedgerRow): Promise<boolean> {
      return new Promise<boolean>((resolve) => {
        if (stopped) {
          deps.metrics?.dropped(1);
          resolve(false);
          return;
        }
        queue.push({ row, done: resolve });
        dropOldest();
        highWater = Math.max(highWater, queue.length + inFlight);
        schedule();
      });
    },
    /** Rows appended and not yet committed (buffered or in the batch being written). */
    unacknowledged: () => queue.length + inFlight,
    /** The most rows ever unacknowledged at once: what a crash at the worst moment could have lost. */
    unacknowledgedHighWater: () => highWater,
    /** Resolves once everything appended so far is committed (or, with the database away, retried). */
    async flush(): Promise<void> {
      while (writing || queue.length > 0) {
        if (writing) await writing;
        else if (retryTimer || stopped) return;
        else schedule();
      }
    },
    /** Stops taking rows and writes what is left, once; rows that still cannot be written are dropped. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      if (writing) await writing;
      if (!(await drain())) {
        const lost = queue.splice(0);
        for (const p of lost) p.done(false);
        deps.metrics?.dropped(lost.length);
      }
    },
  };
}

export type EgressLedgerWriter = ReturnType<typeof createEgressLedgerWriter>;
