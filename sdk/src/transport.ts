import { parseRetryAfter } from './backoff.js';

/**
 * One HTTP request to the ingest endpoint and the classification of its answer. The decision
 * "retry or drop" is made here, in one place, from the contract in API.md: 2xx is an
 * acknowledgement; network errors, 429 and 5xx are worth retrying; any other 4xx would fail again
 * identically (bad key, malformed or too large batch) and is dropped.
 */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ServerRejection {
  index: number;
  code: string;
  message: string;
}

export type SendOutcome =
  | { kind: 'acknowledged'; status: number; rejected: ServerRejection[] }
  | { kind: 'retry'; status?: number; retryAfterMs?: number; reason: string }
  | { kind: 'drop'; status: number; reason: string };

export interface SendRequest {
  url: string;
  key: string;
  body: string;
  keepalive: boolean;
  signal: AbortSignal;
  nowMs: number;
}

export async function sendBatch(fetchFn: FetchLike, request: SendRequest): Promise<SendOutcome> {
  let response: Response;
  try {
    response = await fetchFn(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${request.key}` },
      body: request.body,
      keepalive: request.keepalive,
      signal: request.signal,
      // Credentials are the bearer key; cookies of the page have no business on this request.
      credentials: 'omit',
    });
  } catch (error) {
    return { kind: 'retry', reason: `network error: ${errorMessage(error)}` };
  }

  const { status } = response;
  if (status >= 200 && status < 300) {
    return { kind: 'acknowledged', status, rejected: await readRejections(response) };
  }
  const reason = await readErrorMessage(response);
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), request.nowMs);
    return retryAfterMs === undefined
      ? { kind: 'retry', status, reason }
      : { kind: 'retry', status, retryAfterMs, reason };
  }
  if (status >= 400) return { kind: 'drop', status, reason };
  // 1xx/3xx should not reach here (fetch follows redirects); treat them as transient.
  return { kind: 'retry', status, reason };
}

async function readRejections(response: Response): Promise<ServerRejection[]> {
  try {
    const body: unknown = await response.json();
    const rejected = (body as { rejected?: unknown } | null)?.rejected;
    if (!Array.isArray(rejected)) return [];
    return rejected.flatMap((entry: unknown) => {
      const r = entry as Partial<ServerRejection> | null;
      if (typeof r?.index !== 'number') return [];
      return [{ index: r.index, code: String(r.code ?? 'rejected'), message: String(r.message ?? '') }];
    });
  } catch {
    // The events were committed (2xx); an unreadable body only loses the rejection details.
    return [];
  }
}

async function readErrorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } } | null;
    const code = body?.error?.code;
    const message = body?.error?.message;
    if (typeof message === 'string') return typeof code === 'string' ? `${code}: ${message}` : message;
  } catch {
    // Not the JSON error envelope (a proxy's HTML page, an empty 503): the status says enough.
  }
  return `HTTP ${response.status}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
