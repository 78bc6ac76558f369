import type pg from 'pg';
import { encodeLedgerRow } from './egress-ledger-copy.ts';
import type { EgressLedgerDal, EgressLedgerEntry } from './egress-ledger-dal.ts';

/**
 * The egress ledger's writer: rows are batched and written off the caller's path, in group commits.
 * A row appended while no batch is being written starts one at the next turn of the event loop;
 * rows appended while a batch is being written join the next one. So under load one COPY carries
 * every row that arrived during the previous one, and alone a row waits one round trip. A row is
 * encoded as a binary COPY tuple when it is appended (egress-ledger-copy.ts); a row that its columns
 * cannot hold is refused alone (counted as dropped, `false`) instead of failing its batch.
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
 *   at most the rows appended since the last commit began, i.e. the calls of about one COPY round
 *   trip (the egress bench reports the largest number of unacknowledged rows it saw). A call that
 *   left but whose row was never acknowledged is the one case the ledger can miss, and only in a crash.
 * - While the database is unreachable, rows stay buffered and the batch is retried every
 *   RETRY_MS; past MAX_BUFFERED rows the oldest are dropped, their promises resolve false, and the
 *   drop is counted (`layers_egress_ledger_dropped_total`). A failed batch may have committed with
 *   only its answer lost, so its rows are retried in a way that skips ids already written. No row
 *   can fail every attempt of its batch: what the table's CHECKs refuse is refused at append, and
 *   the table has no foreign key (migration 0023: org ids come from the authenticated context).
 */
const BATCH_ROWS = 2_000;
const MAX_BUFFERED = 50_000;
const RETRY_MS = 1_000;

type Pending = { tuple: Buffer; done: (committed: boolean) => void; retried: boolean };

export function createEgressLedgerWriter(deps: {
  /** The system connection's pool: the COPY needs a client of its own for its round trip. */
  pool: pg.Pool;
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

  /** Writes a batch in one COPY (a retried one skipping rows already written), committed on return. */
  async function write(batch: readonly Pending[]): Promise<void> {
    const tuples = batch.map((p) => p.tuple);
    const client = await deps.pool.connect();
    try {
      if (batch.some((p) => p.retried)) await deps.dal.copyInSkippingWritten(client, tuples);
      else await deps.dal.copyIn(client, tuples);
    } catch (error) {
      // A connection that failed mid-COPY is not given back to the pool.
      client.release(error as Error);
      throw error;
    }
    client.release();
  }

  /** Writes batches until the queue is empty; on a failure, keeps the rows and stops (returns false). */
  async function drain(): Promise<boolean> {
    while (queue.length > 0) {
      const batch = queue.splice(0, BATCH_ROWS);
      inFlight = batch.length;
      try {
        await write(batch);
      } catch {
        for (const p of batch) p.retried = true;
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
    append(row: EgressLedgerEntry): Promise<boolean> {
      return new Promise<boolean>((resolve) => {
        if (stopped) {
          deps.metrics?.dropped(1);
          resolve(false);
          return;
        }
        let tuple: Buffer;
        try {
          tuple = encodeLedgerRow(row);
        } catch {
          deps.metrics?.dropped(1);
          resolve(false);
          return;
        }
        queue.push({ tuple, done: resolve, retried: false });
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
