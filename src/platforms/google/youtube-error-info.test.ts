import { describe, expect, it } from 'vitest';
import { youtubeErrorInfo } from './google-platform.ts';

const body = (code: number, reason: string) => ({ error: { code, message: 'm', errors: [{ reason }] } });

describe('YouTube Data API errors', () => {
  it('401 and a missing scope (403 insufficientPermissions) need a reconnect; other 403s do not', () => {
    expect(youtubeErrorInfo(401, body(401, 'authError'))).toEqual({ kind: 'reauth', code: 'authError' });
    expect(youtubeErrorInfo(403, body(403, 'insufficientPermissions'))).toEqual({
      kind: 'reauth',
      code: 'insufficientPermissions',
    });
    expect(youtubeErrorInfo(403, body(403, 'forbidden'))).toEqual({ kind: 'refused', code: 'forbidden' });
    expect(youtubeErrorInfo(403, body(403, 'quotaExceeded'))).toEqual({
      kind: 'rate_limited',
      code: 'quotaExceeded',
    });
  });

  it('5xx is transient, a body without an error object keeps only the 401 verdict', () => {
    expect(youtubeErrorInfo(503, body(503, 'backendError')).kind).toBe('transient');
    expect(youtubeErrorInfo(401, 'not json')).toEqual({ kind: 'reauth', code: '401' });
    expect(youtubeErrorInfo(403, null)).toEqual({ code: null });
  });
});
