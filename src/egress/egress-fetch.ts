import { EgressError } from './egress-error.ts';
import type { EgressGateway } from './egress-gateway.ts';
import type { EgressBody, EgressCall, HttpMethod } from './egress-types.ts';

/**
 * A WHATWG `fetch` that sends through the egress gateway, for vendor SDKs that take one (the AI
 * SDK's providers: `createOpenAI({ baseURL, fetch })`, …), so that they too are allowlisted,
 * guarded and recorded. `describe` says what each request is (org, project, vendor, purpose, data
 * classes, records); the SDK's URL, method, headers and body are used as they are.
 *
 * Fetch semantics: a vendor's HTTP error comes back as a Response with its status, headers and
 * body (the SDK reads and retries it as it would); a refusal, a timeout or a network failure
 * rejects with the EgressError. Bodies: strings, URLSearchParams (a form) and bytes; a stream is
 * refused (`invalid_call`: the gateway counts and scans whole bodies). The gateway's own deadline
 * applies; the caller's AbortSignal is not followed.
 */
export type EgressDescription = Omit<EgressCall, 'method' | 'url' | 'headers' | 'body' | 'credentials'>;

const NO_BODY_STATUSES = new Set([101, 204, 205, 304]);

function bodyOf(body: unknown, contentType: string | undefined): EgressBody | undefined | 'unsupported' {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return { text: body, ...(contentType ? { contentType } : {}) };
  if (body instanceof URLSearchParams) return { form: Object.fromEntries(body) };
  if (body instanceof Uint8Array)
    return { bytes: body, contentType: contentType ?? 'application/octet-stream' };
  if (body instanceof ArrayBuffer)
    return { bytes: new Uint8Array(body), contentType: contentType ?? 'application/octet-stream' };
  return 'unsupported';
}

function toHeaders(raw: Readonly<Record<string, string | string[] | undefined>> | undefined): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  return headers;
}

export function createEgressFetch(
  gateway: Pick<EgressGateway, 'request'>,
  describe: (request: { method: string; url: string }) => EgressDescription,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init = {}) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (
      init.method ?? (input instanceof Request ? input.method : 'GET')
    ).toUpperCase() as HttpMethod;
    const headers = Object.fromEntries(
      new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined)),
    );
    const description = describe({ method, url });
    const body = bodyOf(init.body, headers['content-type']);
    if (body === 'unsupported')
      throw new EgressError(
        'invalid_call',
        `Egress refused (${description.vendor}/${description.purpose}): a streamed body cannot be scanned or counted; send a string or bytes.`,
        {
          vendor: description.vendor,
          purpose: description.purpose,
        },
      );
    try {
      const res = await gateway.request({ ...description, method, url, headers, ...(body ? { body } : {}) });
      return new Response(NO_BODY_STATUSES.has(res.status) ? null : new Uint8Array(res.body), {
        status: res.status,
        headers: toHeaders(res.headers),
      });
    } catch (error) {
      // The vendor answered: hand its answer to the SDK, as fetch does.
      if (error instanceof EgressError && error.status !== undefined && error.body !== undefined)
        return new Response(NO_BODY_STATUSES.has(error.status) ? null : new Uint8Array(error.body), {
          status: error.status,
          headers: toHeaders(error.headers),
        });
      throw error;
    }
  };
}
