import { randomFillSync } from 'node:crypto';
import type pg from 'pg';
import { EGRESS_PURPOSES } from '../../egress/egress-types.ts';
import type { EgressLedgerEntry } from './egress-ledger-dal.ts';

/**
 * Ledger rows in PostgreSQL's binary COPY format, and the COPY FROM STDIN that sends them. A batch
 * of rows costs the database about half of what an INSERT from a JSON parameter did (no JSON or text
 * to parse: every value arrives in its binary form), and a row is encoded once, when it is appended,
 * so the writer's queue holds a few hundred bytes per row instead of a row object.
 *
 * The columns, in this order, are COPY_COLUMNS (the DAL's COPY statements name them).
 */
export const COPY_COLUMNS =
  'id, org_id, project_id, vendor, host, purpose, data_classes, records, bytes_out, bytes_in, attempts, status, outcome, latency_ms, created_at';
const FIELDS = 15;
const TEXT_OID = 25;
/** "PGCOPY\n\377\r\n\0", a 32-bit flags field and a 32-bit header-extension length (both 0). */
export const COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** A tuple with field count -1 ends the data. */
export const COPY_TRAILER = Buffer.from([0xff, 0xff]);
/** PostgreSQL's timestamps count microseconds from 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;
const VENDOR = /^[a-z][a-z0-9_]{1,39}$/;
const PURPOSES: ReadonlySet<string> = new Set(EGRESS_PURPOSES);
const OUTCOMES: ReadonlySet<string> = new Set([
  'ok',
  'http_error',
  'rate_limited',
  'timeout',
  'network_error',
  'response_too_large',
]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Random bytes for ids, drawn from the system's CSPRNG 4,000 at a time. */
let entropy = Buffer.alloc(0);
let entropyAt = 0;

/**
 * A time-ordered UUID (version 7 layout: 48 bits of the row's milliseconds, then random) written
 * straight into the tuple: rows are appended at the right edge of the primary-key index.
 */
function writeTimeOrderedId(buf: Buffer, ms: number, at: number): void {
  if (entropyAt + 10 > entropy.length) {
    entropy = randomFillSync(Buffer.allocUnsafe(4_000));
    entropyAt = 0;
  }
  buf.writeUIntBE(ms, at, 6);
  for (let i = 0; i < 10; i++) buf[at + 6 + i] = entropy[entropyAt + i] as number;
  entropyAt += 10;
  buf[at + 6] = ((buf[at + 6] as number) & 0x0f) | 0x70;
  buf[at + 8] = ((buf[at + 8] as number) & 0x3f) | 0x80;
}

function writeInt64(buf: Buffer, value: number, at: number): number {
  const high = Math.floor(value / TWO_32);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * TWO_32, at + 4);
  return at + 8;
}

/** `length` is the UTF-8 byte length: equal to the string's length exactly when it is all ASCII. */
function writeText(buf: Buffer, value: string, length: number, at: number): number {
  buf.writeInt32BE(length, at);
  const start = at + 4;
  // Short ASCII text (every id and name of a row) is copied by char code: cheaper than a call into
  // the runtime's UTF-8 encoder, which a row would otherwise make eight times.
  if (length === value.length && length <= 64)
    for (let i = 0; i < length; i++) buf[start + i] = value.charCodeAt(i);
  else buf.write(value, start, length, 'utf8');
  return start + length;
}

/**
 * One row as a binary COPY tuple; a row without an id gets a time-ordered one. Throws (RangeError,
 * TypeError) on a value its column cannot hold (a malformed id, a count past its integer type, an
 * invalid date), so the writer refuses that row alone instead of a whole batch failing on it.
 */
export function encodeLedgerRow(row: EgressLedgerEntry): Buffer {
  if (row.id !== undefined && !UUID.test(row.id)) throw new TypeError('ledger row id is not a uuid');
  const createdMs = row.created_at.getTime();
  if (!Number.isFinite(createdMs)) throw new RangeError('ledger row time is not a date');
  for (const n of [row.records, row.bytes_out, row.bytes_in])
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('ledger row count is not a whole number');
  // The table's CHECK constraints (migration 0014), so that one row cannot fail its whole batch.
  if (
    !VENDOR.test(row.vendor) ||
    row.host.length < 1 ||
    row.host.length > 253 ||
    !PURPOSES.has(row.purpose) ||
    !OUTCOMES.has(row.outcome) ||
    !(row.attempts >= 1) ||
    !(row.latency_ms >= 0)
  )
    throw new RangeError('ledger row breaks a constraint of its table');
  const org = Buffer.byteLength(row.org_id);
  const project = row.project_id === null ? -1 : Buffer.byteLength(row.project_id);
  const vendor = Buffer.byteLength(row.vendor);
  const host = Buffer.byteLength(row.host);
  const purpose = Buffer.byteLength(row.purpose);
  const outcome = Buffer.byteLength(row.outcome);
  const classes = row.data_classes;
  let classBytes = classes.length === 0 ? 12 : 20;
  for (const c of classes) classBytes += 4 + Buffer.byteLength(c);
  const size =
    2 +
    (4 + 16) +
    (4 + org) +
    4 +
    Math.max(project, 0) +
    (4 + vendor) +
    (4 + host) +
    (4 + purpose) +
    (4 + classBytes) +
    (4 + 4) +
    (4 + 8) * 2 +
    (4 + 2) +
    4 +
    (row.status === null ? 0 : 2) +
    (4 + outcome) +
    (4 + 4) +
    (4 + 8);
  const buf = Buffer.allocUnsafe(size);
  let at = buf.writeInt16BE(FIELDS, 0);
  at = buf.writeInt32BE(16, at);
  const id = row.id;
  if (id === undefined) writeTimeOrderedId(buf, createdMs, at);
  else {
    buf.write(id.slice(0, 8), at, 4, 'hex');
    buf.write(id.slice(9, 13), at + 4, 2, 'hex');
    buf.write(id.slice(14, 18), at + 6, 2, 'hex');
    buf.write(id.slice(19, 23), at + 8, 2, 'hex');
    buf.write(id.slice(24), at + 10, 6, 'hex');
  }
  at += 16;
  at = writeText(buf, row.org_id, org, at);
  if (row.project_id === null) at = buf.writeInt32BE(-1, at);
  else at = writeText(buf, row.project_id, project, at);
  at = writeText(buf, row.vendor, vendor, at);
  at = writeText(buf, row.host, host, at);
  at = writeText(buf, row.purpose, purpose, at);
  // text[]: dimensions, has-nulls flag, element type; per dimension its length and lower bound.
  at = buf.writeInt32BE(classBytes, at);
  at = buf.writeInt32BE(classes.length === 0 ? 0 : 1, at);
  at = buf.writeInt32BE(0, at);
  at = buf.writeInt32BE(TEXT_OID, at);
  if (classes.length > 0) {
    at = buf.writeInt32BE(classes.length, at);
    at = buf.writeInt32BE(1, at);
    for (const c of classes) at = writeText(buf, c, Buffer.byteLength(c), at);
  }
  at = buf.writeInt32BE(4, at);
  at = buf.writeInt32BE(row.records, at);
  at = buf.writeInt32BE(8, at);
  at = writeInt64(buf, row.bytes_out, at);
  at = buf.writeInt32BE(8, at);
  at = writeInt64(buf, row.bytes_in, at);
  at = buf.writeInt32BE(2, at);
  at = buf.writeInt16BE(row.attempts, at);
  if (row.status === null) at = buf.writeInt32BE(-1, at);
  else {
    at = buf.writeInt32BE(2, at);
    at = buf.writeInt16BE(row.status, at);
  }
  at = writeText(buf, row.outcome, outcome, at);
  at = buf.writeInt32BE(4, at);
  at = buf.writeFloatBE(row.latency_ms, at);
  at = buf.writeInt32BE(8, at);
  at = writeInt64(buf, (createdMs - PG_EPOCH_MS) * 1000, at);
  if (at !== size) throw new Error('ledger row encoding is inconsistent');
  return buf;
}

/**
 * A `COPY … FROM STDIN (FORMAT binary)` as a pg submittable. The statement, the data (header, every
 * tuple, trailer) and CopyDone go out together, in one write: the server reads them in order, so the
 * data need not wait for its CopyInResponse (one round trip and two socket writes fewer per batch).
 * If the statement fails to start, or fails midway, the server drops the CopyData and CopyDone that
 * follow (protocol, "COPY Operations"). Resolves with the row count the server reports once the
 * statement has completed (committed, outside a transaction), rejects with the server's error.
 */
type Settle = { resolve(n: number): void; reject(e: Error): void };
type CopyConnection = {
  stream: { cork(): void; uncork(): void };
  query(text: string): void;
  sendCopyFromChunk(b: Buffer): void;
  endCopyFrom(): void;
};

class CopyIn {
  readonly text: string;
  readonly #tuples: readonly Buffer[];
  readonly #settle: Settle;
  #rows = 0;

  constructor(text: string, tuples: readonly Buffer[], settle: Settle) {
    this.text = text;
    this.#tuples = tuples;
    this.#settle = settle;
  }

  submit(connection: CopyConnection): void {
    let size = COPY_HEADER.length + COPY_TRAILER.length;
    for (const t of this.#tuples) size += t.length;
    connection.stream.cork();
    connection.query(this.text);
    connection.sendCopyFromChunk(Buffer.concat([COPY_HEADER, ...this.#tuples, COPY_TRAILER], size));
    connection.endCopyFrom();
    connection.stream.uncork();
  }

  /** The data went out with the statement (submit). */
  handleCopyInResponse(): void {}

  handleCommandComplete(message: { text: string }): void {
    this.#rows = Number(message.text.split(' ')[1] ?? 0);
  }

  /** pg stops routing messages to a query once it errs (its ReadyForQuery is not passed on). */
  handleError(error: Error): void {
    this.#settle.reject(error);
  }

  handleReadyForQuery(): void {
    this.#settle.resolve(this.#rows);
  }

  // Never sent for a COPY FROM; answered so a surprise cannot hang the connection.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
}

/** Runs `copySql` (a COPY … FROM STDIN (FORMAT binary)) on `client` with these tuples. */
export function copyTuplesIn(
  client: pg.ClientBase,
  copySql: string,
  tuples: readonly Buffer[],
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    client.query(new CopyIn(copySql, tuples, { resolve, reject }) as unknown as pg.QueryConfig);
  });
}
