/**
 * Limits of the ingest contract (API.md, "SDK ingest"). The server answers 413 when a batch or an
 * event is larger than these, so the SDK measures every event and every batch it builds and never
 * sends anything the server would refuse.
 */

/** A request body (`{"batch": [...]}`) may be at most 500 KB, measured as UTF-8 bytes. */
export const MAX_BATCH_BYTES = 512_000;

/** One event, serialized as JSON, may be at most 32 KB. Larger events are dropped on the device. */
export const MAX_EVENT_BYTES = 32_768;

/**
 * Browsers cap the bodies of all in-flight `fetch(..., { keepalive: true })` requests of a document
 * at 64 KiB together (Fetch standard, "keepalive" quota); a request over the quota fails outright.
 */
export const KEEPALIVE_MAX_BYTES = 65_536;

/** The server takes at most this many events per request. */
export const MAX_BATCH_EVENTS = 1_000;

/** Field lengths (in UTF-16 code units, as the server counts them); longer events are rejected. */
export const MAX_EVENT_NAME_LENGTH = 200;
export const MAX_USER_ID_LENGTH = 256;
export const MAX_APP_ID_LENGTH = 200;

/** `{"batch":[` and `]}` around the comma-separated events. */
const BATCH_ENVELOPE_BYTES = '{"batch":[]}'.length;

/** Exact UTF-8 size of `{"batch":[e1,e2,...]}` given the sizes of the serialized events. */
export function batchBodyBytes(eventBytes: readonly number[]): number {
  let total = BATCH_ENVELOPE_BYTES;
  for (const bytes of eventBytes) total += bytes;
  return total + Math.max(0, eventBytes.length - 1);
}

/** Bytes one more event adds to a batch that already holds `count` events. */
export function addedBatchBytes(count: number, eventBytes: number): number {
  return count === 0 ? eventBytes : eventBytes + 1;
}
