import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { EgressDataClass } from '../../egress/egress-types.ts';
import { callJson, type VendorErrorInfo } from '../platform-http.ts';
import { type CallContext, PlatformError, type StoredCredentials } from '../social-platform.ts';

/**
 * One call of the TikTok Marketing API (tiktok-ads.ts): the advertiser token in the `Access-Token`
 * header (never in a query, a body or the ledger), a JSON body, and TikTok's answer read as the
 * business API sends it: HTTP 200 with `{code, message, request_id, data}`, where only `code: 0`
 * is a success. 40104/40105 (token empty, invalid, expired or revoked) → reauth; 40100 → rate
 * limited; 50000/50002 and 5xx → transient; any other code → refused, the code kept.
 */
const API = 'https://business-api.tiktok.com/open_api/v1.3';
const CALL_TIMEOUT_MS = 10_000;

const TOKEN_CODES = new Set([40104, 40105]);
const RATE_CODES = new Set([40100]);
const SYSTEM_CODES = new Set([50000, 50002]);

export function tiktokAdsErrorInfo(status: number, body: unknown): VendorErrorInfo {
  const raw = (body as { code?: unknown } | null)?.code;
  const code = typeof raw === 'number' ? raw : null;
  if (status >= 200 && status < 300 && code === 0) return { code: null };
  const label = code === null ? `http_${status}` : String(code);
  if ((code !== null && TOKEN_CODES.has(code)) || status === 401) return { kind: 'reauth', code: label };
  if ((code !== null && RATE_CODES.has(code)) || status === 429) return { kind: 'rate_limited', code: label };
  if ((code !== null && SYSTEM_CODES.has(code)) || status >= 500 || code === null)
    return { kind: 'transient', code: label };
  return { kind: 'refused', code: label };
}

/** TikTok's UTC "YYYY-MM-DD HH:MM:SS". */
export const tiktokTime = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');

export type TikTokAdsRequest = {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  json?: object;
  /** A status update may be repeated; a create may not (the gateway retries only idempotent calls). */
  idempotent?: boolean;
};

export function createTikTokAdsCaller(egress: EgressGateway) {
  return function call<T>(
    ctx: CallContext,
    credentials: StoredCredentials,
    req: TikTokAdsRequest,
    dataClasses: readonly EgressDataClass[] = ['platform_ids'],
  ): Promise<T> {
    if (!credentials.accessToken) throw new PlatformError('reauth', 'tiktok ads: no advertiser token');
    const qs = req.query ? `?${new URLSearchParams(req.query).toString()}` : '';
    return callJson<T>(
      egress,
      {
        ...ctx,
        vendor: 'tiktok',
        purpose: 'ads',
        dataClasses,
        records: 1,
        method: req.method,
        url: `${API}${req.path}${qs}`,
        headers: { 'Access-Token': credentials.accessToken },
        ...(req.json ? { body: { json: req.json } } : {}),
        ...(req.idempotent !== undefined ? { idempotent: req.idempotent } : {}),
        timeoutMs: CALL_TIMEOUT_MS,
      },
      tiktokAdsErrorInfo,
    );
  };
}

/** The id a create answered (`data.<key>`, or the first of `data.<key>s`, or of a `data` list). */
export function idFrom(res: { data?: unknown }, key: string): string {
  const d = res.data as Record<string, unknown> | Record<string, unknown>[] | undefined;
  const first = Array.isArray(d) ? d[0] : d;
  const plural = first?.[`${key}s`];
  const v = first?.[key] ?? (Array.isArray(plural) ? plural[0] : undefined);
  if (typeof v !== 'string' || !/^\d{1,30}$/.test(v))
    throw new PlatformError('transient', 'tiktok ads call failed (transient: no_id)', {
      vendorCode: 'no_id',
    });
  return v;
}
