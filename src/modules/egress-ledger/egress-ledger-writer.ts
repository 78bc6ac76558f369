import type pg from 'pg';
import { encodeRows } from './egress-ledger-copy.ts';
import type { EgressLedgerDal, EgressLedgerEntry } from './egress-ledger-dal.ts';
import { createLedgerRing } from './egress-ledger-ring.ts';

/**
 * The egress ledger's writer: rows are batched and written off the caller's path, in group commits.
 * A row someone waits for (`recorded`) is written at the next turn of the event loop, with every row
 * appended before it, or in the batch after the one being written. Rows nobody waits for are paced:
 * a batch of them starts no sooner than GATHER_MS after the previous batch started, so alone (a
 * job's call now and then) a row is written at once, and under load one COPY carries GATHER_MS of
 * calls instead of one round trip's. Each COPY costs PostgreSQL a statement and a commit whatever its
 * size: on the egress bench, ~25 rows a COPY cost ~23 µs of server CPU a row, ~400 rows ~10 µs.
 *
 * What an append costs the caller: its row is checked and stored in a ring of columns
 * (egress-ledger-ring.ts: numbers and references, no object, Buffer or promise per row), and it gets
 * a ticket. Rows are encoded as binary COPY tuples a batch at a time, when the batch is taken
 * (egress-ledger-copy.ts). A promise is made only for a ticket someone asks about (`recorded`): a
 * caller that does not wait for its row makes none. A row that its columns cannot hold is refused
 * alone (counted as dropped, `false`) instead of failing its batch.
 *
 * What a crash can lose, and why no acknowledged row is lost:
 * - `recorded(ticket)` (and `append()`) resolves true only once the row's batch has COMMITTED. The
 *   gateway hands it to its caller as `recorded` (EgressResponse / EgressError). A row is
 *   acknowledged exactly when that promise resolves, and then it is in the database.
 * - The gateway answers a call only once its row is acknowledged (EgressCall.accounted, the
 *   default), so no caller commits an effect of a call the ledger does not hold. The forwarder says
 *   `accounted: false` and awaits the rows of a batch's calls together, before it deletes the
 *   forwarded events from the queue. If the process dies first, that work is not acknowledged
 *   either: it is retried, and the retry's call gets its own row.
 * - What a crash can lose is the rows of calls that completed but whose batch had not committed
 *   yet: calls whose callers had not been answered (or, with `accounted: false`, had not awaited
 *   them), so nothing was committed on their strength; at most the rows appended in the last
 *   GATHER_MS and one COPY round trip (the egress bench reports the most it saw at once).
 * - While the database is unreachable, rows stay buffered and the batch is retried every
 *   RETRY_MS; past MAX_BUFFERED rows (not counting a batch being written) the oldest are dropped,
 *   their `recorded` resolves false, and the drop is counted (`layers_egress_ledger_dropped_total`).
 *   A failed batch may have committed with only its answer lost, so it is retried (the same bytes,
 *   the same ids) in a way that skips ids already written. No row can fail every attempt of its
 *   batch: what the table's CHECKs refuse is refused at append, and the table has no foreign key
 *   (migration 0023: org ids come from the authenticated context).
 * - Whether a row was dropped is remembered for its last MAX_DROP_RANGES drop episodes; a row older
 *   than those, asked about only after they passed, answers false (not known to be recorded), never
 *   a true it cannot prove.
 */
const BATCH_ROWS = 2_000;
/** The pace of batches of rows nobody waits for (module comment). */
const GATHER_MS = 25;
const MAX_BUFFERED = 50_000;
const RETRY_MS = 1_000;
/** Drop episodes remembered to answer `recorded` for a dropped row asked about later (see below). */
const MAX_DROP_RANGES = 1_000;
/** The ticket of a row refused at append (or after stop): its `recorded` is false. */
export const REFUSED = -1;

const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);

/** A batch taken from the ring: encoded once, so a retry sends the same ids. */
type Batch = { first: number; end: number; data: Buffer; offsets: Int32Array; cut: number; retried: boolean };
type Waiter = { promise: Promise<boolean>; resolve(committed: boolean): void };

export function createEgressLedgerWriter(deps: {
  /** The system connection's pool: the COPY needs a client of its own for its round trip. */
  pool: pg.Pool;
  dal: EgressLedgerDal;
  metrics?: { written(n: number): void; dropped(n: number): void };
  maxBuffered?: number;
  retryMs?: number;
  gatherMs?: number;
}) {
  const maxBuffered = deps.maxBuffered ?? MAX_BUFFERED;
  const retryMs = deps.retryMs ?? RETRY_MS;
  const gatherMs = deps.gatherMs ?? GATHER_MS;
  const ring = createLedgerRing();
  let batch: Batch | undefined;
  let inFlight = false;
  let writing: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  // While a paced batch waits for its time: starts it now (a waiter came, a batch filled, a flush).
  let startNow: (() => void) | undefined;
  let lastStart = Number.NEGATIVE_INFINITY;
  let highWater = 0;
  let stopped = false;
  // Promises are made only for the rows someone asks about (`recorded`), by ticket.
  const waiters = new Map<number, Waiter>();
  // Dropped tickets as [from, to) pairs, oldest first; tickets below forgottenBefore answer false.
  const drops: number[] = [];
  let forgottenBefore = 0;

  const unacknowledged = () => ring.length() + (batch ? batch.end - batch.first : 0);
  const pending = (t: number) =>
    (t >= ring.first() && t < ring.end()) || (batch !== undefined && t >= batch.first && t < batch.end);

  function wasDropped(t: number): boolean {
    if (t < forgottenBefore) return true;
    for (let i = drops.length - 2; i >= 0; i -= 2)
      if (t >= (drops[i] as number) && t < (drops[i + 1] as number)) return true;
    return false;
  }

  /** Tickets [from, to) are committed (or dropped): their waiters learn it. */
  function settle(from: number, to: number, committed: boolean): void {
    if (!committed) {
      if (drops.length > 0 && drops[drops.length - 1] === from) drops[drops.length - 1] = to;
      else drops.push(from, to);
      if (drops.length > 2 * MAX_DROP_RANGES) forgottenBefore = drops.splice(0, 2)[1] as number;
    }
    if (waiters.size === 0) return;
    if (waiters.size < to - from) {
      for (const [t, w] of waiters)
        if (t >= from && t < to) {
          waiters.delete(t);
          w.resolve(committed);
        }
    } else
      for (let t = from; t < to; t++) {
        const w = waiters.get(t);
        if (w === undefined) continue;
        waiters.delete(t);
        w.resolve(committed);
      }
  }

  /** Past the bound, the oldest rows not being written are dropped: a failed batch's first, then the ring's. */
  function dropOldest(): void {
    let excess = ring.length() + (batch && !inFlight ? batch.end - batch.first : 0) - maxBuffered;
    if (excess <= 0) return;
    deps.metrics?.dropped(excess);
    if (batch && !inFlight) {
      const k = Math.min(excess, batch.end - batch.first);
      const from = batch.first;
      batch.first += k;
      batch.cut += k;
      if (batch.first === batch.end) batch = undefined;
      settle(from, from + k, false);
      excess -= k;
    }
    if (excess > 0) {
      const from = ring.first();
      ring.shift(excess);
      settle(from, from + excess, false);
    }
  }

  /** Writes a batch in one COPY (a retried one skipping rows already written), committed on return. */
  async function write(b: Batch): Promise<void> {
    const tuples = [b.cut === 0 ? b.data : b.data.subarray(b.offsets[b.cut])];
    const client = await deps.pool.connect();
    try {
      if (b.retried) await deps.dal.copyInSkippingWritten(client, tuples);
      else await deps.dal.copyIn(client, tuples);
    } catch (error) {
      // A connection that failed mid-COPY is not given back to the pool.
      client.release(error as Error);
      throw error;
    }
    client.release();
  }

  /** No one waits and no batch is full: the next batch may wait for its pace. */
  const mayWait = () => waiters.size === 0 && ring.length() < BATCH_ROWS;

  /**
   * Writes batches until the ring is empty, or (`paced`) until only rows that may wait are left; on
   * a failure, keeps the batch and stops (returns false).
   */
  async function drain(paced: boolean): Promise<boolean> {
    for (let written = 0; ; written++) {
      if (batch === undefined) {
        const n = Math.min(ring.length(), BATCH_ROWS);
        if (n === 0 || (paced && written > 0 && mayWait())) return true;
        const from = ring.first();
        const { data, offsets } = encodeRows(ring, from, from + n);
        ring.shift(n);
        batch = { first: from, end: from + n, data, offsets, cut: 0, retried: false };
      }
      const b = batch;
      inFlight = true;
      lastStart = performance.now();
      try {
        await write(b);
      } catch {
        b.retried = true;
        inFlight = false;
        dropOldest();
        return false;
      }
      inFlight = false;
      batch = undefined;
      deps.metrics?.written(b.end - b.first);
      settle(b.first, b.end, true);
    }
  }

  /** Resolves when the next batch may start: at the next turn, or at its pace (module comment). */
  function nextStart(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wait = lastStart + gatherMs - performance.now();
      if (wait <= 0 || !mayWait()) {
        setImmediate(resolve);
        return;
      }
      const timer = setTimeout(start, wait);
      function start() {
        clearTimeout(timer);
        startNow = undefined;
        resolve();
      }
      startNow = start;
    });
  }

  function schedule(): void {
    if (writing || retryTimer || stopped) return;
    writing = nextStart()
      .then(() => drain(true))
      .then((ok) => {
        writing = undefined;
        if (!ok && !stopped) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            schedule();
          }, retryMs);
          retryTimer.unref();
        } else if (ring.length() > 0) schedule();
      });
  }

  /** Buffers one row; returns its ticket, or REFUSED for a row its table cannot hold (counted as dropped). */
  function enqueue(row: EgressLedgerEntry): number {
    if (stopped) {
      deps.metrics?.dropped(1);
      return REFUSED;
    }
    let ticket: number;
    try {
      ticket = ring.push(row);
    } catch {
      deps.metrics?.dropped(1);
      return REFUSED;
    }
    dropOldest();
    const n = unacknowledged();
    if (n > highWater) highWater = n;
    if (ring.length() >= BATCH_ROWS) startNow?.();
    schedule();
    return ticket;
  }

  /** Resolves true once the ticket's row is committed, false if it was refused or dropped. Never rejects. */
  function recorded(ticket: number): Promise<boolean> {
    if (ticket < 0) return FALSE;
    if (!pending(ticket)) return ticket < ring.end() && !wasDropped(ticket) ? TRUE : FALSE;
    let w = waiters.get(ticket);
    if (w === undefined) {
      let resolve!: (committed: boolean) => void;
      const promise = new Promise<boolean>((r) => {
        resolve = r;
      });
      w = { promise, resolve };
      waiters.set(ticket, w);
      startNow?.();
    }
    return w.promise;
  }

  return {
    enqueue,
    recorded,
    /** enqueue and recorded at once: resolves true once the row is committed, false if it was dropped. */
    append: (row: EgressLedgerEntry): Promise<boolean> => recorded(enqueue(row)),
    /** Rows appended and not yet committed (buffered or in the batch being written). */
    unacknowledged,
    /** The most rows ever unacknowledged at once: what a crash at the worst moment could have lost. */
    unacknowledgedHighWater: () => highWater,
    /** Resolves once everything appended so far is committed (or, with the database away, retried). */
    async flush(): Promise<void> {
      while (writing || unacknowledged() > 0) {
        startNow?.();
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
      startNow?.();
      if (writing) await writing;
      if (!(await drain(false))) {
        const lost = unacknowledged();
        if (batch) settle(batch.first, batch.end, false);
        batch = undefined;
        const from = ring.first();
        const to = ring.end();
        ring.shift(to - from);
        settle(from, to, false);
        deps.metrics?.dropped(lost);
      }
    },
  };
}

export type EgressLedgerWriter = ReturnType<typeof createEgressLedgerWriter>;
