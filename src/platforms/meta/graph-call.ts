import { createHmac } from 'node:crypto';
import { EgressError } from '../../egress/egress-error.ts';
import type { EgressCall } from '../../egress/egress-types.ts';
import type { PublishingErrorCode } from '../publishing-port.ts';
import { type CallContext, type PlatformDeps, PlatformError } from '../social-platform.ts';
import { GRAPH_VERSION } from './meta-platform.ts';

/**
 * One Graph API call of the publishers (Instagram and Facebook Pages), as meta-platform.ts makes its
 * own: `access_token` and `appsecret_proof` (HMAC-SHA256 of the token with the app secret) as
 * credentials, so neither is recorded. Form parameters that are credentials too (the signed media
 * URL Meta fetches) go in `secretForm`: sent, never recorded nor scanned. Failures become
 * PlatformErrors with Meta's codes read from the error body
 * `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.
 */
const GRAPH = `https://graph.facebook.com/${GRAPH_VERSION}`;

export type MetaApp = { appId: string; appSecret: string };

export type GraphRequest = {
  method: 'GET' | 'POST';
  path: string;
  token: string;
  form?: Readonly<Record<string, string>>;
  secretForm?: Readonly<Record<string, string>>;
  dataClasses: EgressCall['dataClasses'];
  /** A POST that creates something is not repeated by the gateway; an update of one object is. */
  idempotent?: boolean;
};

export type GraphCaller = <T>(ctx: CallContext, req: GraphRequest) => Promise<T>;

export function createGraphCaller(deps: PlatformDeps & { credentials: MetaApp | undefined }): GraphCaller {
  return async <T>(ctx: CallContext, req: GraphRequest): Promise<T> => {
    const app = deps.credentials;
    if (!app) throw new PlatformError('refused', 'meta is not configured', { apiCode: 'platform_refused' });
    const proof = createHmac('sha256', app.appSecret).update(req.token).digest('hex');
    const call: EgressCall = {
      ...ctx,
      vendor: 'meta',
      purpose: 'publishing',
      dataClasses: req.dataClasses,
      records: 1,
      method: req.method,
      url: `${GRAPH}${req.path}`,
      ...(req.method === 'POST' ? { body: { form: req.form ?? {} } } : {}),
      ...(req.idempotent !== undefined ? { idempotent: req.idempotent } : {}),
      credentials: {
        query: { access_token: req.token, appsecret_proof: proof },
        ...(req.secretForm ? { form: req.secretForm } : {}),
      },
    };
    try {
      const res = await deps.egress.request(call);
      return (res.body.length === 0 ? {} : res.json()) as T;
    } catch (error) {
      if (error instanceof EgressError) throw graphError(error);
      if (error instanceof SyntaxError)
        throw new PlatformError('transient', 'meta publishing call failed (transient: unparsable_response)', {
          vendorCode: 'unparsable_response',
        });
      throw error;
    }
  };
}

type GraphErrorBody = { error?: { code?: unknown; error_subcode?: unknown } };

const RATE_CODES = new Set([4, 17, 32, 613]);
/** Business Use Case rate limits (80001 Pages, 80002 Instagram, … 80014). */
const isBucCode = (code: number) => code >= 80001 && code <= 80014;
/** Instagram's publishing subcodes (2207xxx) describe the media or the account's publishing state. */
const isIgPublishingSubcode = (sub: number) => sub >= 2207000 && sub < 2208000;
const IG_CAP_SUBCODE = 2207042;

function parseBody(body: Buffer | undefined): { code: number | null; subcode: number | null } {
  try {
    const err = (JSON.parse(body?.toString('utf8') ?? 'null') as GraphErrorBody | null)?.error;
    const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN);
    const code = num(err?.code);
    const sub = num(err?.error_subcode);
    return {
      code: Number.isSafeInteger(code) ? code : null,
      subcode: Number.isSafeInteger(sub) ? sub : null,
    };
  } catch {
    return { code: null, subcode: null };
  }
}

/**
 * How long a Business Use Case limit lasts: `X-Business-Use-Case-Usage` maps an id to entries with
 * `estimated_time_to_regain_access` in minutes; null when absent or unreadable.
 */
function bucWaitMs(headers: EgressError['headers']): number | null {
  const raw = headers?.['x-business-use-case-usage'];
  if (typeof raw !== 'string') return null;
  try {
    const usage = JSON.parse(raw) as Record<string, { estimated_time_to_regain_access?: unknown }[]>;
    let minutes = 0;
    for (const entries of Object.values(usage))
      for (const e of entries ?? [])
        if (typeof e.estimated_time_to_regain_access === 'number')
          minutes = Math.max(minutes, e.estimated_time_to_regain_access);
    return minutes > 0 ? minutes * 60_000 : null;
  } catch {
    return null;
  }
}

const refused = (code: PublishingErrorCode, vendorCode: string, message: string) =>
  new PlatformError('refused', message, { vendorCode, apiCode: code });

export function graphError(error: EgressError): PlatformError {
  if (error.code === 'timeout' || error.code === 'network_error')
    return new PlatformError('transient', `meta publishing call failed (transient: ${error.code})`, {
      vendorCode: error.code,
    });
  const { code, subcode } = parseBody(error.body);
  // The gateway's own rate-limit verdict (429 after its retries) may carry no Graph body.
  const status = error.code === 'rate_limited' ? 429 : error.status;
  if (status === undefined)
    return refused(
      'platform_refused',
      error.code,
      `meta publishing call refused by the gateway (${error.code})`,
    );
  const label = code === null ? `http_${status}` : String(code);
  // 190/102: the token is gone. 200–299: a permission the person granted at connect was taken back
  // (Meta's "Permissions error" range, e.g. 200 after pages_manage_posts is removed in the Business
  // settings): only a new Facebook login grants it again, so it is a reconnect too. 10 (the app
  // itself lacks the permission) is not: a reconnect cannot fix it, it stays platform_refused.
  if (code === 190 || code === 102 || (code !== null && code >= 200 && code <= 299))
    return new PlatformError('reauth', `meta publishing call failed (reauth: ${label})`, {
      vendorCode: label,
    });
  if ((code !== null && (RATE_CODES.has(code) || isBucCode(code))) || status === 429)
    return new PlatformError('rate_limited', `meta publishing call failed (rate_limited: ${label})`, {
      vendorCode: label,
      retryAfterMs: error.retryAfterMs ?? bucWaitMs(error.headers),
    });
  if (subcode === IG_CAP_SUBCODE)
    return refused(
      'publishing_cap_reached',
      String(subcode),
      'Instagram refused: the account reached its publishing limit for the last 24 hours.',
    );
  if (subcode !== null && isIgPublishingSubcode(subcode))
    return refused('media_rejected', String(subcode), `Instagram rejected the media (${subcode}).`);
  if (code === 9004 || code === 352 || code === 6000)
    return refused('media_rejected', label, `Meta rejected the media (${label}).`);
  if (code === 1 || code === 2 || status >= 500)
    return new PlatformError('transient', `meta publishing call failed (transient: ${label})`, {
      vendorCode: label,
    });
  return refused('platform_refused', label, `Meta refused the publication (${label}).`);
}
