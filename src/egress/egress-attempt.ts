import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Expirable, WatchedAttempt } from './egress-deadlines.ts';

/** The answer's body is past the call's limit (declared, or as it arrives): the attempt was aborted. */
export class ResponseTooLarge extends Error {}

/** The call's deadline passed during the attempt: the attempt was aborted. */
export class DeadlinePassed extends Error {}

export type AttemptAnswer = { status: number; headers: IncomingHttpHeaders; body: Buffer };

/** A call's answer is read up to this many bytes unless the call says otherwise (`maxResponseBytes`). */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/**
 * Collects one attempt's answer for undici's dispatch API. The gateway reads every answer whole, so
 * it does not take `dispatcher.request()`'s: a Readable body stream, an AsyncResource and an abort
 * listener per call (on the egress bench the same POST costs the caller ~30–40 µs this way, ~50–65
 * µs through request() and its body's arrayBuffer(), ~5 µs of that in garbage collection).
 */
class Collector implements Dispatcher.DispatchHandler, Expirable {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #settled = false;
  readonly #max: number;
  /** A HEAD answer's Content-Length is the resource's, not a body's: none follows. */
  readonly #head: boolean;
  readonly #resolve: (answer: AttemptAnswer) => void;
  readonly #reject: (error: Error) => void;

  constructor(
    max: number,
    head: boolean,
    resolve: (answer: AttemptAnswer) => void,
    reject: (error: Error) => void,
  ) {
    this.#max = max;
    this.#head = head;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** The call's deadline passed (egress-deadlines.ts). */
  expire(): void {
    this.abort(new DeadlinePassed());
  }

  /** Ends the attempt with `reason`: now if it has a connection, or as soon as it gets one. */
  abort(reason: Error): void {
    this.#controller?.abort(reason);
    this.#fail(reason);
  }

  #fail(error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Aborted while it waited for a connection: it ends before anything is written.
    if (this.#settled) controller.abort(new DeadlinePassed());
    else this.#controller = controller;
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200) return; // 1xx: the answer is still to come
    const declared = headers['content-length'];
    // undici fails a body that does not match its Content-Length, so a declared length is checked once.
    if (
      !this.#head &&
      typeof declared === 'string' &&
      /^\d+$/.test(declared) &&
      Number(declared) > this.#max
    ) {
      this.abort(new ResponseTooLarge());
      return;
    }
    this.#status = statusCode;
    this.#headers = headers;
    this.#controller = controller;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#size += chunk.length;
    if (this.#size > this.#max) this.abort(new ResponseTooLarge());
    else this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#settled = true;
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size);
    this.#resolve({ status: this.#status, headers: this.#headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.#fail(error);
  }
}

/**
 * One HTTP attempt: its status, headers and body (at most `maxBytes`, else ResponseTooLarge). When
 * `watched`'s deadline passes (if one is watched), the attempt is aborted and fails with
 * DeadlinePassed at once, even while it still waits for a connection.
 */
export function attempt(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  maxBytes: number,
  watched?: WatchedAttempt,
): Promise<AttemptAnswer> {
  return new Promise<AttemptAnswer>((resolve, reject) => {
    const collector = new Collector(maxBytes, options.method === 'HEAD', resolve, reject);
    if (watched) watched.attempt = collector;
    dispatcher.dispatch(options, collector);
  });
}
