/**
 * The one error of the egress gateway. Callers (platform adapters, jobs) map its closed set of codes
 * to their own states: a refusal is a bug or a policy decision (never retried), a rate limit or a
 * transient failure is rescheduled (after `retryAfterMs` when the vendor said so), an HTTP error is
 * the vendor's answer (its status and body are on the error for the adapter to read).
 *
 * Messages name the vendor, purpose and host, never a URL path, query, header value or body.
 */
export const EGRESS_ERROR_CODES = {
  /** No vendor in the sub-processor registry, nor a destination the project enabled, claims the host. */
  host_not_allowed: { refusal: true, retryable: false },
  /** The vendor is not registered for this purpose, or the call declares a data class its purpose may not carry. */
  purpose_not_allowed: { refusal: true, retryable: false },
  /** The body carries values that look like end-customer identifiers, for a purpose that must not carry them. */
  content_refused: { refusal: true, retryable: false },
  /** The description itself is wrong (not https, bad record count, bytes for a purpose that sends none). */
  invalid_call: { refusal: true, retryable: false },
  /** The vendor answered 429 (after the retries allowed, or with a Retry-After beyond the deadline). */
  rate_limited: { refusal: false, retryable: true },
  /** The vendor answered another non-2xx/3xx status after the retries allowed. */
  http_error: { refusal: false, retryable: false },
  /** No (complete) answer before the deadline. */
  timeout: { refusal: false, retryable: true },
  /** The connection failed (refused, reset, TLS, DNS). */
  network_error: { refusal: false, retryable: true },
  /** The answer was larger than the call allowed. */
  response_too_large: { refusal: false, retryable: false },
} as const;

export type EgressErrorCode = keyof typeof EGRESS_ERROR_CODES;

export class EgressError extends Error {
  readonly code: EgressErrorCode;
  readonly vendor: string;
  readonly purpose: string;
  /** The last HTTP status the vendor answered, if it answered. */
  readonly status: number | undefined;
  /** The vendor's last answer, for `http_error` and `rate_limited` (adapters read their error codes). */
  readonly body: Buffer | undefined;
  /** The headers of that answer (rate-limit usage headers, Retry-After). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>> | undefined;
  /** How long the vendor asked us to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;
  /** As on EgressResponse: the ledger row of a call that left (refusals have none and resolve false). */
  readonly recorded: Promise<boolean>;

  constructor(
    code: EgressErrorCode,
    message: string,
    details: {
      vendor: string;
      purpose: string;
      status?: number;
      body?: Buffer;
      headers?: Readonly<Record<string, string | string[] | undefined>>;
      retryAfterMs?: number;
      attempts?: number;
      recorded?: Promise<boolean>;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EgressError';
    this.code = code;
    this.vendor = details.vendor;
    this.purpose = details.purpose;
    this.status = details.status;
    this.body = details.body;
    this.headers = details.headers;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts ?? 0;
    this.recorded = details.recorded ?? Promise.resolve(false);
  }

  /** A refusal: the call never left (no socket was opened). */
  get refused(): boolean {
    return EGRESS_ERROR_CODES[this.code].refusal;
  }

  /** Worth trying again later (the caller's own schedule: the gateway has already retried what it may). */
  get retryable(): boolean {
    return (
      EGRESS_ERROR_CODES[this.code].retryable || (this.code === 'http_error' && (this.status ?? 0) >= 500)
    );
  }
}

export function isEgressError(e: unknown): e is EgressError {
  return e instanceof EgressError;
}
