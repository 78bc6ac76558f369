import type pg from 'pg';
import type { Clock } from '../../lib/clock.ts';
import { monthStart } from './event-partitions.ts';
import type {
  EventRow,
  ForwardBatchRow,
  ForwardItem,
  ForwardPlan,
  IngestDal,
  WrittenKey,
} from './ingest-dal.ts';
import { foldProfiles } from './profile-fold.ts';

/**
 * Group commit for SDK events. Concurrent requests hand their prepared events to the writer, which
 * coalesces everything waiting into one statement per org (`ingest_batch`: multi-row insert + profile
 * upsert, its own transaction, one round trip) and resolves each request only after that statement
 * has committed: a 200 always means stored.
 *
 * There is no timer: a flush starts as soon as one can, so at low load a request waits for its own
 * transaction only, and under load the requests that arrive while a flush runs ride the next one.
 * A second flush runs alongside the first only once enough rows wait to be worth a commit of their
 * own: many small requests (one event each) then share few large commits instead of queueing on the
 * WAL flush one small commit after another, while large batches still use two connections.
 */
/**
 * `suppressed`: events refused by the commit because their user is suppressed (migration 0010).
 * `refused`: positions (in the rows handed to `write`) of events PostgreSQL refused to store; every
 * other row of the request was committed or was already held.
 */
export type WriteOutcome = { inserted: Set<string>; suppressed?: Set<string>; refused?: number[] };

type Pending = {
  orgId: string;
  rows: EventRow[];
  resolve: (outcome: WriteOutcome) => void;
  reject: (error: unknown) => void;
};

const MAX_CONCURRENT_FLUSHES = 2;
const MIN_ROWS_FOR_CONCURRENT_FLUSH = 200;
const MAX_ROWS_PER_TRANSACTION = 5_000;

/**
 * SQLSTATE classes of errors caused by the data written, not by the database's state: 22 data
 * exception (e.g. 22P05 NUL in jsonb, 22008 year 0000), 23 integrity constraint, 54 program limit.
 */
const DATA_ERROR_CLASSES = new Set(['22', '23', '54']);

function isRefusedData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && DATA_ERROR_CLASSES.has(code.slice(0, 2));
}

export const dedupKey = (projectId: string, eventId: string) => `${projectId}\u0000${eventId}`;

/** A row with its forwarding items (only in projects with an enabled destination). */
export type ForwardingRow = EventRow & { forward?: readonly ForwardItem[] };

/** Seals one commit's forwarded events into queue rows (modules/destinations/forward-batch.ts). */
export type ForwardSealer = (orgId: string, items: readonly ForwardItem[]) => ForwardBatchRow[];

/**
 * A destination's forwarder job is woken at most this often per process (each wake is an upsert of
 * the same job row, which concurrent commits would queue on); rows a wake spared are picked up by
 * the job that is already due or running, or by the one it re-arms a second after it drains.
 */
const WAKE_EVERY_MS = 200;

export function createIngestWriter(deps: {
  pool: pg.Pool;
  dal: IngestDal;
  clock: Clock;
  /** Conversions API forwarding; absent: rows carrying forwarding items are refused (never silently). */
  sealForward?: ForwardSealer;
}) {
  const queue: Pending[] = [];
  const lastWake = new Map<string, number>();
  function wakeList(rows: readonly ForwardBatchRow[]): string[] {
    if (rows.length === 0) return [];
    const now = Date.now();
    const out: string[] = [];
    for (const id of new Set(rows.map((f) => f.destination_id))) {
      if (now - (lastWake.get(id) ?? 0) < WAKE_EVERY_MS) continue;
      lastWake.set(id, now);
      out.push(id);
    }
    if (lastWake.size > 10_000) lastWake.clear();
    return out;
  }
  let queuedRows = 0;
  let running = 0;
  const idle: Array<() => void> = [];

  async function writeOrg(orgId: string, items: Pending[]): Promise<void> {
    // Sorted so that concurrent transactions take row locks in the same order (no deadlocks).
    const rows = items
      .flatMap((p) => p.rows)
      .sort((a, b) =>
        a.project_id === b.project_id
          ? a.event_id < b.event_id
            ? -1
            : 1
          : a.project_id < b.project_id
            ? -1
            : 1,
      );
    const receivedAt = deps.clock.now();
    const refused = new Set<EventRow>();
    const keys = await writeIsolating(orgId, receivedAt, rows, refused);
    const insertedKeys = new Set<string>();
    const suppressed = new Set<string>();
    for (const k of keys) (k.suppressed ? suppressed : insertedKeys).add(dedupKey(k.project_id, k.event_id));
    // Each stored event is credited to the first request (and the first row in it) that carried it;
    // every other copy, in this batch or an earlier one, is a duplicate.
    for (const item of items) {
      const mine = new Set<string>();
      const refusedHere: number[] = [];
      item.rows.forEach((row, position) => {
        if (refused.has(row)) refusedHere.push(position);
        else {
          const key = dedupKey(row.project_id, row.event_id);
          if (insertedKeys.delete(key)) mine.add(key);
        }
      });
      item.resolve({ inserted: mine, suppressed, refused: refusedHere });
    }
  }

  /**
   * Writes `rows` in one statement (the tenant is set inside ingest_batch for its own statement-long
   * transaction). If PostgreSQL refuses the data itself (a value it cannot store, a constraint), the
   * rows are split in halves and retried, down to the single rows it refuses: those go into
   * `refused` and every other row of the flush commits, so one bad event costs its request a
   * per-event rejection instead of failing every request that shared the commit. Validation refuses
   * all known such values before this (event-validator.ts); this is the backstop. Other errors
   * (connection, timeout) propagate: the whole flush is then retried by its callers.
   */
  async function writeIsolating(
    orgId: string,
    receivedAt: Date,
    rows: EventRow[],
    refused: Set<EventRow>,
  ): Promise<WrittenKey[]> {
    // The first copy of each event (ingest_batch stores that one) gives the profiles and queue rows.
    const unique = firstOccurrences(rows);
    const profiles = foldProfiles(unique);
    try {
      return await deps.dal.writeBatch(
        deps.pool,
        orgId,
        receivedAt,
        monthStart(receivedAt),
        rows,
        profiles,
        forwardRowsOf(orgId, unique),
      );
    } catch (error) {
      if (!isRefusedData(error)) throw error;
      if (rows.length === 1) {
        refused.add(rows[0] as EventRow);
        return [];
      }
      const half = Math.ceil(rows.length / 2);
      const first = await writeIsolating(orgId, receivedAt, rows.slice(0, half), refused);
      const second = await writeIsolating(orgId, receivedAt, rows.slice(half), refused);
      return first.concat(second);
    }
  }

  /**
   * The queue rows of the commit's forwarded events, sealed once per destination before the
   * statement (ingest-dal.ts queues them only if it stores all their events), and the rows of only
   * the events it stored, for a commit that stores some row in part; none when no row carries
   * forwarding items.
   */
  function forwardRowsOf(orgId: string, unique: ForwardingRow[]): ForwardPlan | undefined {
    if (!unique.some((r) => r.forward)) return undefined;
    const seal = deps.sealForward;
    if (!seal) throw new Error('forwarding items without a sealer');
    const all: ForwardItem[] = [];
    for (const r of unique) if (r.forward) all.push(...r.forward);
    const rows = seal(orgId, all);
    return {
      rows,
      wake: wakeList(rows),
      stored: (written) => {
        const stored = new Set<string>();
        for (const k of written) if (!k.suppressed) stored.add(dedupKey(k.project_id, k.event_id));
        const items = all.filter((i) => stored.has(dedupKey(i.project_id, i.event_id)));
        return items.length > 0 ? seal(orgId, items) : [];
      },
    };
  }

  /** One row per event_id (a batch may carry the same event twice). */
  function firstOccurrences(rows: EventRow[]): EventRow[] {
    const seen = new Set<string>();
    return rows.filter((r) => {
      const key = dedupKey(r.project_id, r.event_id);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  function takeBatch(): Map<string, Pending[]> {
    const byOrg = new Map<string, Pending[]>();
    let rows = 0;
    while (queue.length > 0 && rows < MAX_ROWS_PER_TRANSACTION) {
      const item = queue.shift() as Pending;
      rows += item.rows.length;
      queuedRows -= item.rows.length;
      const list = byOrg.get(item.orgId);
      if (list) list.push(item);
      else byOrg.set(item.orgId, [item]);
    }
    return byOrg;
  }

  function pump(): void {
    while (
      running < MAX_CONCURRENT_FLUSHES &&
      queue.length > 0 &&
      (running === 0 || queuedRows >= MIN_ROWS_FOR_CONCURRENT_FLUSH)
    ) {
      const batch = takeBatch();
      running += 1;
      Promise.all(
        [...batch].map(([orgId, items]) =>
          writeOrg(orgId, items).catch((error) => {
            for (const item of items) item.reject(error);
          }),
        ),
      ).finally(() => {
        running -= 1;
        if (running === 0 && queue.length === 0) for (const wake of idle.splice(0)) wake();
        pump();
      });
    }
  }

  return {
    /** Resolves once these rows are committed (or were already held): never before. */
    write(orgId: string, rows: EventRow[]): Promise<WriteOutcome> {
      if (rows.length === 0) return Promise.resolve({ inserted: new Set() });
      return new Promise((resolve, reject) => {
        queue.push({ orgId, rows, resolve, reject });
        const crossed = queuedRows < MIN_ROWS_FOR_CONCURRENT_FLUSH;
        queuedRows += rows.length;
        // Let requests that arrive in this same tick join the batch.
        if (queue.length === 1 || (crossed && queuedRows >= MIN_ROWS_FOR_CONCURRENT_FLUSH))
          setImmediate(pump);
      });
    },

    /** Writes waiting for a flush (not yet handed to the database). */
    waiting(): number {
      return queue.length;
    },

    /** Waits until every accepted write has committed (shutdown). */
    drain(): Promise<void> {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}

export type IngestWriter = ReturnType<typeof createIngestWriter>;
