import { Readable } from 'node:stream';
import type pg from 'pg';
import { collectYoungGeneration } from '../lib/young-generation.ts';

/**
 * `COPY (SELECT <one text column> …) TO STDOUT (FORMAT binary)` as a stream of bytes, for results
 * too large to hold (a data subject's full export). Each row's value is copied from the wire into
 * 64 KB chunks — never decoded into a JavaScript string or row object — and the database socket is
 * paused while the consumer is behind, so the process stays flat in memory whatever the row count.
 *
 * Rows are framed for the caller: `between` goes before every row but the first (`,` for a JSON
 * array), `after` after every row (`\n` for NDJSON).
 *
 * This is a pg "submittable": the client hands it the connection when the query's turn comes and
 * routes the backend's messages to the handle* methods below.
 */
const CHUNK_BYTES = 64 * 1024;
/** Socket reads and chunks are Buffers that die young: collect them every so many bytes (see young-generation.ts). */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
/** "PGCOPY\n\377\r\n\0", then a 32-bit flags field and a 32-bit header-extension length. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;

type Connection = { query(text: string): void; stream: NodeJS.ReadableStream };

export class CopyOutStream extends Readable {
  /** Rows PostgreSQL reported copied; set once the COPY has completed. */
  rowCount: number | undefined;
  /** True once the COPY ran to its end and every byte was handed to the stream. */
  completed = false;

  readonly #text: string;
  readonly #between: Buffer;
  readonly #after: Buffer;
  #connection: Connection | undefined;
  #paused = false;
  #headerRead = false;
  #rows = 0;
  #chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  #sinceCollect = 0;

  constructor(selectSql: string, frame: { between: string; after: string }) {
    super({ highWaterMark: 2 * CHUNK_BYTES });
    this.#text = `COPY (${selectSql}) TO STDOUT (FORMAT binary)`;
    this.#between = Buffer.from(frame.between);
    this.#after = Buffer.from(frame.after);
  }

  submit(connection: Connection): void {
    this.#connection = connection;
    connection.query(this.#text);
  }

  /** One CopyData message is exactly one row (the protocol's promise for COPY OUT); the first also carries the file header. */
  handleCopyData(message: { chunk: Buffer }): void {
    if (this.destroyed) return;
    const data = message.chunk;
    let offset = 0;
    if (!this.#headerRead) {
      if (!data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
        this.#fail('not a binary COPY stream');
        return;
      }
      offset = HEADER_BYTES + data.readInt32BE(HEADER_BYTES - 4);
      this.#headerRead = true;
      if (offset >= data.length) return;
    }
    const fields = data.readInt16BE(offset);
    if (fields === -1) return; // the trailer
    const length = data.readInt32BE(offset + 2);
    if (fields !== 1 || length < 0) {
      this.#fail('COPY row is not one non-null column');
      return;
    }
    const start = offset + 6;
    if (this.#rows > 0) this.#append(this.#between, 0, this.#between.length);
    this.#append(data, start, start + length);
    this.#append(this.#after, 0, this.#after.length);
    this.#rows += 1;
  }

  handleCommandComplete(message: { text: string }): void {
    this.rowCount = Number(message.text.split(' ')[1]);
  }

  handleReadyForQuery(): void {
    if (this.destroyed) return;
    this.#flush();
    this.completed = true;
    this.push(null);
    // The last flush may have paused the socket, and an ended stream is never read again.
    this.#resumeSocket();
  }

  handleError(error: Error): void {
    this.destroy(error);
    this.#resumeSocket();
  }

  // The client routes every kind of backend message here; these never come for a COPY TO.
  handleRowDescription(): void {
    this.#fail('a COPY answered with rows');
  }
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {
    this.#fail('empty COPY statement');
  }
  handleCopyInResponse(): void {
    this.#fail('COPY FROM is not supported here');
  }

  override _read(): void {
    this.#resumeSocket();
  }

  #resumeSocket(): void {
    if (this.#paused && this.#connection) {
      this.#paused = false;
      this.#connection.stream.resume();
    }
  }

  /**
   * The wire buffer is reused by the protocol parser as soon as this handler returns, so bytes are
   * always copied out of it, never kept by reference.
   */
  #append(source: Buffer, start: number, end: number): void {
    let from = start;
    while (from < end) {
      if (this.#used === CHUNK_BYTES) this.#flush();
      const copied = source.copy(
        this.#chunk,
        this.#used,
        from,
        Math.min(end, from + CHUNK_BYTES - this.#used),
      );
      this.#used += copied;
      from += copied;
    }
  }

  #flush(): void {
    if (this.#used === 0) return;
    const full = this.#chunk.subarray(0, this.#used);
    this.#chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#sinceCollect += this.#used;
    this.#used = 0;
    if (this.#sinceCollect >= COLLECT_EVERY_BYTES) {
      this.#sinceCollect = 0;
      collectYoungGeneration();
    }
    if (!this.push(full) && this.#connection && !this.#paused) {
      this.#paused = true;
      this.#connection.stream.pause();
    }
  }

  #fail(reason: string): void {
    this.destroy(new Error(`copy-out: ${reason}`));
  }
}

/**
 * Runs the COPY on `client`, which must stay checked out until the stream closes. A stream destroyed
 * by its consumer before the end leaves the COPY running mid-protocol: discard that connection.
 */
export function copyOut(
  client: pg.PoolClient,
  selectSql: string,
  frame: { between: string; after: string },
): CopyOutStream {
  return client.query(new CopyOutStream(selectSql, frame));
}
