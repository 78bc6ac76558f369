import { EgressError } from '../egress/egress-error.ts';
import type { EgressGateway } from '../egress/egress-gateway.ts';
import type { EgressCall } from '../egress/egress-types.ts';
import { PlatformError, type PlatformErrorKind } from './social-platform.ts';

/**
 * One vendor call through the egress gateway, answered as parsed JSON, with every failure turned
 * into a PlatformError: the adapter's `classify` reads the vendor's error body (its own codes), the
 * rest follows the HTTP status. Nothing of the body reaches the message beyond the vendor's code.
 */
export type VendorErrorInfo = { kind?: PlatformErrorKind; code: string | null };

export async function callJson<T>(
  egress: EgressGateway,
  call: EgressCall,
  classify: (status: number, body: unknown) => VendorErrorInfo,
): Promise<T> {
  try {
    const res = await egress.request(call);
    const parsed = res.body.length === 0 ? {} : (res.json() as unknown);
    // Some vendors (TikTok) answer errors inside a 200; the adapter's classifier says so.
    const inBand = classify(res.status, parsed);
    if (inBand.kind) throw platformError(call, inBand.kind, inBand.code, null);
    return parsed as T;
  } catch (error) {
    if (error instanceof PlatformError) throw error;
    if (error instanceof EgressError) {
      if (error.code === 'rate_limited')
        throw platformError(call, 'rate_limited', null, error.retryAfterMs ?? null);
      if (error.code === 'timeout' || error.code === 'network_error')
        throw platformError(call, 'transient', error.code, null);
      if (error.code === 'http_error' && error.status !== undefined) {
        let body: unknown = null;
        try {
          body = error.body ? JSON.parse(error.body.toString('utf8')) : null;
        } catch {
          body = null;
        }
        const info = classify(error.status, body);
        const kind = info.kind ?? (error.status >= 500 ? 'transient' : 'refused');
        throw platformError(call, kind, info.code ?? String(error.status), error.retryAfterMs ?? null);
      }
      throw platformError(call, 'refused', error.code, null);
    }
    if (error instanceof SyntaxError) throw platformError(call, 'transient', 'unparsable_response', null);
    throw error;
  }
}

function platformError(
  call: EgressCall,
  kind: PlatformErrorKind,
  code: string | null,
  retryAfterMs: number | null,
): PlatformError {
  const safeCode = code === null ? null : code.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 60);
  return new PlatformError(
    kind,
    `${call.vendor} ${call.purpose} call failed (${kind}${safeCode ? `: ${safeCode}` : ''})`,
    { vendorCode: safeCode, retryAfterMs },
  );
}

/** The OAuth 2 error body (`{"error": "invalid_grant"}`) of a token endpoint. */
export function oauthErrorInfo(status: number, body: unknown): VendorErrorInfo {
  const err = body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  const code = typeof err === 'string' ? err : null;
  if (code === 'invalid_grant') return { kind: 'reauth', code };
  if (status === 429 || code === 'rate_limit_exceeded') return { kind: 'rate_limited', code };
  // TikTok answers some token errors inside a 200: an `error` string there is still an error.
  if (status >= 200 && status < 300) return code ? { kind: 'refused', code } : { code: null };
  return { code };
}
