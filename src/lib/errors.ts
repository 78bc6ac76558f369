/**
 * The one error type of the platform. Codes form a closed set; each maps to a status and an error
 * `type` of the API contract. Messages must never contain personal data or secrets: they are
 * returned to callers and logged.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  parameter_invalid: { status: 400, type: 'invalid_request_error' },
  missing_api_key: { status: 401, type: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  revoked_api_key: { status: 401, type: 'authentication_error' },
  key_type_not_allowed: { status: 403, type: 'permission_error' },
  // The console (session cookie): not signed in or expired, wrong credentials, a role that may not
  // do this, a state change without its CSRF token, a factor missing for a sensitive change.
  not_signed_in: { status: 401, type: 'authentication_error' },
  invalid_credentials: { status: 401, type: 'authentication_error' },
  mfa_code_required: { status: 401, type: 'authentication_error' },
  role_not_allowed: { status: 403, type: 'permission_error' },
  csrf_token_invalid: { status: 403, type: 'permission_error' },
  mfa_enrolment_required: { status: 403, type: 'permission_error' },
  // GET /media/:id with an expired or altered signature.
  signature_invalid: { status: 403, type: 'permission_error' },
  resource_missing: { status: 404, type: 'not_found_error' },
  route_not_found: { status: 404, type: 'not_found_error' },
  idempotency_in_flight: { status: 409, type: 'idempotency_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  uri_too_long: { status: 414, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  idempotency_key_reused: { status: 422, type: 'idempotency_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'api_error' },
  service_unavailable: { status: 503, type: 'api_error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { param?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.param = options.param;
    this.headers = options.headers;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get type(): string {
    return ERROR_CODES[this.code].type;
  }
}

export const notFound = (what: string, param?: string) =>
  new AppError('resource_missing', `No such ${what}.`, param === undefined ? {} : { param });
