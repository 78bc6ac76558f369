import { EGRESS_PURPOSES } from '../../egress/egress-types.ts';
import type { EgressLedgerEntry, EgressLedgerRow } from './egress-ledger-dal.ts';

/**
 * The ledger writer's buffer of rows not yet taken into a batch: a ring of columns (typed arrays for
 * numbers, arrays of references for text) instead of a row object, an encoded Buffer and a promise
 * per row. A row waiting for its batch thus costs the caller's thread no allocation, and the garbage
 * collector nothing to copy from one generation to the next however long it waits. Rows are encoded
 * a batch at a time (egress-ledger-copy.ts, encodeRows).
 *
 * Rows are numbered in append order (a ticket, from 0); the ring holds tickets [first, end). A row
 * is checked when it is pushed against what its columns and the table's CHECK constraints (migration
 * 0014, 0023) accept, so a row that would fail its batch is refused alone (push throws).
 */
export const OUTCOMES = [
  'ok',
  'http_error',
  'rate_limited',
  'timeout',
  'network_error',
  'response_too_large',
] as const satisfies readonly EgressLedgerRow['outcome'][];
const OUTCOME_INDEX: ReadonlyMap<string, number> = new Map(OUTCOMES.map((o, i) => [o, i]));
const PURPOSE_INDEX: ReadonlyMap<string, number> = new Map(EGRESS_PURPOSES.map((p, i) => [p, i]));
const VENDOR = /^[a-z][a-z0-9_]{1,39}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT4_MAX = 2 ** 31 - 1;
const INT2_MAX = 2 ** 15 - 1;
/** A null status, outside the smallint range the column holds. */
export const NULL_STATUS = 2 ** 16;
const NO_CLASSES: readonly string[] = Object.freeze([]);
const INITIAL_CAPACITY = 256;

/** A row's data classes: one class as its name (a string cannot change later), else a sorted copy. */
export type StoredClasses = string | readonly string[];

function storedClasses(classes: readonly string[]): StoredClasses {
  if (classes.length === 1) return classes[0] as string;
  if (classes.length === 0) return NO_CLASSES;
  return [...new Set(classes)].sort();
}

const isCount = (n: number, max: number) => Number.isSafeInteger(n) && n >= 0 && n <= max;

export function createLedgerRing() {
  let capacity = INITIAL_CAPACITY;
  let mask = capacity - 1;
  let first = 0;
  let end = 0;
  const cols = {
    org: [] as string[],
    project: [] as (string | null)[],
    vendor: [] as string[],
    host: [] as string[],
    classes: [] as StoredClasses[],
    /** A row's own id (tests, tools); undefined: the encoder makes a time-ordered one. */
    id: [] as (string | undefined)[],
    purpose: new Uint8Array(capacity),
    outcome: new Uint8Array(capacity),
    attempts: new Int16Array(capacity),
    /** NULL_STATUS: no HTTP status. */
    status: new Int32Array(capacity),
    records: new Float64Array(capacity),
    bytesOut: new Float64Array(capacity),
    bytesIn: new Float64Array(capacity),
    latencyMs: new Float64Array(capacity),
    createdMs: new Float64Array(capacity),
  };

  /** Doubles the ring, the rows keeping their order (slot = ticket & mask). */
  function grow(): void {
    const next = capacity * 2;
    const move = <T extends Float64Array | Int32Array | Int16Array | Uint8Array>(
      old: T,
      make: (n: number) => T,
    ) => {
      const a = make(next);
      for (let t = first; t < end; t++) a[t & (next - 1)] = old[t & mask] as number;
      return a;
    };
    const moveRefs = <T>(old: T[]) => {
      const a: T[] = new Array(next);
      for (let t = first; t < end; t++) a[t & (next - 1)] = old[t & mask] as T;
      return a;
    };
    cols.org = moveRefs(cols.org);
    cols.project = moveRefs(cols.project);
    cols.vendor = moveRefs(cols.vendor);
    cols.host = moveRefs(cols.host);
    cols.classes = moveRefs(cols.classes);
    cols.id = moveRefs(cols.id);
    cols.purpose = move(cols.purpose, (n) => new Uint8Array(n));
    cols.outcome = move(cols.outcome, (n) => new Uint8Array(n));
    cols.attempts = move(cols.attempts, (n) => new Int16Array(n));
    cols.status = move(cols.status, (n) => new Int32Array(n));
    cols.records = move(cols.records, (n) => new Float64Array(n));
    cols.bytesOut = move(cols.bytesOut, (n) => new Float64Array(n));
    cols.bytesIn = move(cols.bytesIn, (n) => new Float64Array(n));
    cols.latencyMs = move(cols.latencyMs, (n) => new Float64Array(n));
    cols.createdMs = move(cols.createdMs, (n) => new Float64Array(n));
    capacity = next;
    mask = next - 1;
  }

  return {
    cols,
    /** The slot of a ticket the ring holds. */
    slot: (ticket: number) => ticket & mask,
    first: () => first,
    end: () => end,
    length: () => end - first,
    /**
     * Checks and stores one row; returns its ticket. Throws (RangeError, TypeError) on a value its
     * column or the table's CHECKs refuse: a malformed id, a count past its integer type, an invalid
     * date, a vendor id of the wrong shape, a host longer than a DNS name, an unknown purpose or
     * outcome, attempts < 1, a negative latency.
     */
    push(row: EgressLedgerEntry): number {
      if (row.id !== undefined && !UUID.test(row.id)) throw new TypeError('ledger row id is not a uuid');
      const createdMs = row.created_at.getTime();
      if (!Number.isFinite(createdMs)) throw new RangeError('ledger row time is not a date');
      if (!isCount(row.records, INT4_MAX) || !isCount(row.bytes_out, Number.MAX_SAFE_INTEGER))
        throw new RangeError('ledger row count is not a whole number');
      if (!isCount(row.bytes_in, Number.MAX_SAFE_INTEGER))
        throw new RangeError('ledger row count is not a whole number');
      const purpose = PURPOSE_INDEX.get(row.purpose);
      const outcome = OUTCOME_INDEX.get(row.outcome);
      const status = row.status;
      if (
        purpose === undefined ||
        outcome === undefined ||
        !VENDOR.test(row.vendor) ||
        row.host.length < 1 ||
        row.host.length > 253 ||
        !Number.isInteger(row.attempts) ||
        row.attempts < 1 ||
        row.attempts > INT2_MAX ||
        (status !== null && (!Number.isInteger(status) || status < -INT2_MAX - 1 || status > INT2_MAX)) ||
        !(row.latency_ms >= 0)
      )
        throw new RangeError('ledger row breaks a constraint of its table');
      if (end - first === capacity) grow();
      const s = end & mask;
      cols.org[s] = row.org_id;
      cols.project[s] = row.project_id;
      cols.vendor[s] = row.vendor;
      cols.host[s] = row.host;
      cols.classes[s] = storedClasses(row.data_classes);
      cols.id[s] = row.id;
      cols.purpose[s] = purpose;
      cols.outcome[s] = outcome;
      cols.attempts[s] = row.attempts;
      cols.status[s] = status ?? NULL_STATUS;
      cols.records[s] = row.records;
      cols.bytesOut[s] = row.bytes_out;
      cols.bytesIn[s] = row.bytes_in;
      cols.latencyMs[s] = row.latency_ms;
      cols.createdMs[s] = createdMs;
      return end++;
    },
    /** Lets go of the `n` oldest rows (taken into a batch, or dropped). */
    shift(n: number): void {
      for (let t = first; t < first + n; t++) {
        const s = t & mask;
        // Text references released: the ring keeps no org id or class list alive once a row is gone.
        cols.org[s] = '';
        cols.project[s] = null;
        cols.vendor[s] = '';
        cols.host[s] = '';
        cols.classes[s] = NO_CLASSES;
        cols.id[s] = undefined;
      }
      first += n;
    },
  };
}

export type LedgerRing = ReturnType<typeof createLedgerRing>;
