import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring media URLs: `/media/<id>?exp=<unix seconds>&sig=<base64url HMAC-SHA256>` over the
 * method, media id, org and expiry, with a key derived from the encryption key (HKDF, its own
 * purpose label). Checked in constant time; an expired or altered URL answers 403. The URL carries
 * no API key or session: only this scoped, expiring capability.
 */
export const DEFAULT_URL_TTL_S = 3600;

export function createMediaSigner(key: Buffer) {
  const mac = (mediaId: string, orgId: string, exp: number) =>
    createHmac('sha256', key).update(`GET\n/media/${mediaId}\n${orgId}\n${exp}`).digest();
  return {
    sign(mediaId: string, orgId: string, now: Date, ttlS = DEFAULT_URL_TTL_S) {
      const exp = Math.floor(now.getTime() / 1000) + ttlS;
      return {
        path: `/media/${mediaId}?exp=${exp}&sig=${mac(mediaId, orgId, exp).toString('base64url')}`,
        expiresAt: new Date(exp * 1000),
      };
    },
    /** 'ok', 'expired' or 'invalid' (a signature that does not match, whatever else is wrong). */
    verify(
      mediaId: string,
      orgId: string,
      exp: string,
      sig: string,
      now: Date,
    ): 'ok' | 'expired' | 'invalid' {
      if (!/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return 'invalid';
      const expected = mac(mediaId, orgId, Number(exp));
      const given = Buffer.from(sig, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      return Number(exp) * 1000 <= now.getTime() ? 'expired' : 'ok';
    },
  };
}

export type MediaSigner = ReturnType<typeof createMediaSigner>;
