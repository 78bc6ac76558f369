import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The platforms' own signatures on the callbacks they send us.
 *
 * Meta `signed_request` (deauthorize and data-deletion callbacks): `<base64url signature>.<base64url
 * JSON payload>`, the signature being HMAC-SHA256 of the payload part as received, keyed by the app
 * secret; the payload says `"algorithm": "HMAC-SHA256"` and carries the app-scoped `user_id`.
 *
 * TikTok webhooks: header `TikTok-Signature: t=<unix seconds>,s=<hex>`, `s` being HMAC-SHA256 of
 * `<t>.<raw body>` keyed by the client secret; a timestamp more than 5 minutes away is refused
 * (replay).
 */
export const TIKTOK_SIGNATURE_TOLERANCE_S = 300;

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function parseMetaSignedRequest(
  signedRequest: string,
  appSecret: string,
): Record<string, unknown> | null {
  const dot = signedRequest.indexOf('.');
  if (dot <= 0 || signedRequest.length > 8192) return null;
  const sigPart = signedRequest.slice(0, dot);
  const payloadPart = signedRequest.slice(dot + 1);
  const expected = createHmac('sha256', appSecret).update(payloadPart).digest();
  if (!equal(Buffer.from(sigPart.replace(/=+$/, ''), 'base64url'), expected)) return null;
  try {
    const payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as unknown;
    if (!payload || typeof payload !== 'object') return null;
    const alg = (payload as { algorithm?: unknown }).algorithm;
    if (typeof alg !== 'string' || alg.toUpperCase() !== 'HMAC-SHA256') return null;
    return payload as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function verifyTikTokSignature(
  header: string | undefined,
  rawBody: string,
  clientSecret: string,
  nowSeconds: number,
): boolean {
  if (!header || header.length > 512) return false;
  const parts = new Map(
    header.split(',').map((p) => {
      const eq = p.indexOf('=');
      return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()] as const;
    }),
  );
  const t = parts.get('t');
  const s = parts.get('s');
  if (!t || !/^\d{1,12}$/.test(t) || !s || !/^[0-9a-f]{64}$/i.test(s)) return false;
  if (Math.abs(nowSeconds - Number(t)) > TIKTOK_SIGNATURE_TOLERANCE_S) return false;
  const expected = createHmac('sha256', clientSecret).update(`${t}.${rawBody}`).digest();
  return equal(Buffer.from(s, 'hex'), expected);
}
