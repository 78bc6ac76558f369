/**
 * Everything the SDK gives up on, or defers, is reported to the app's `onError` callback as one of
 * these: the SDK never throws from `track`/`identify` (analytics must not break the app), so this
 * callback is the only place where dropped or rejected events become visible.
 */
export type LayersErrorCode =
  /** One event alone is over the server's 32 KB limit: dropped on the device, never sent. */
  | 'event_too_large'
  /** The event is not valid (empty name or user id, not JSON-serializable): dropped, never sent. */
  | 'invalid_event'
  /** The bounded queue was full: the oldest events were dropped (`count` says how many). */
  | 'queue_overflow'
  /** The server answered 200 but rejected some events of the batch (`rejections`). */
  | 'event_rejected'
  /** The server refused the whole batch with a 4xx other than 429: dropped, not retried. */
  | 'batch_rejected'
  /** Network error, 429 or 5xx: the batch stays queued and is retried in `retryInMs`. */
  | 'delivery_failed'
  /** An email/phone identifier could not be hashed or a pre-hashed one was not 64 hex: not sent. */
  | 'invalid_identifier'
  /** Reading or writing the persisted queue failed (quota, private mode): kept in memory only. */
  | 'storage_failed';

export interface EventRejection {
  eventId: string;
  code: string;
  message: string;
}

export interface LayersErrorDetails {
  status?: number;
  eventIds?: string[];
  count?: number;
  rejections?: EventRejection[];
  retryInMs?: number;
  cause?: unknown;
}

export class LayersError extends Error {
  readonly code: LayersErrorCode;
  readonly status: number | undefined;
  /** The events concerned (dropped, rejected or deferred). */
  readonly eventIds: string[];
  readonly count: number;
  readonly rejections: EventRejection[];
  readonly retryInMs: number | undefined;

  constructor(code: LayersErrorCode, message: string, details: LayersErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'LayersError';
    this.code = code;
    this.status = details.status;
    this.eventIds = details.eventIds ?? [];
    this.count = details.count ?? this.eventIds.length;
    this.rejections = details.rejections ?? [];
    this.retryInMs = details.retryInMs;
  }
}

export type ErrorHandler = (error: LayersError) => void;

/** A throwing callback must not break delivery, so the app's handler is isolated. */
export function safeReporter(handler: ErrorHandler | undefined): ErrorHandler {
  return (error) => {
    if (!handler) return;
    try {
      handler(error);
    } catch {
      // The app's handler failed; there is nowhere left to report that.
    }
  };
}
