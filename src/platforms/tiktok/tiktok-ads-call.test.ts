import { describe, expect, it } from 'vitest';
import { tiktokAdsErrorInfo } from './tiktok-ads-call.ts';

describe('TikTok Marketing API answers', () => {
  it('reads the code of a 200 as TikTok sends errors, and the status when there is no code', () => {
    const cases: [number, unknown, ReturnType<typeof tiktokAdsErrorInfo>][] = [
      [200, { code: 0, message: 'OK', data: {} }, { code: null }],
      [200, { code: 40105, message: 'revoked' }, { kind: 'reauth', code: '40105' }],
      [200, { code: 40104, message: 'empty' }, { kind: 'reauth', code: '40104' }],
      [200, { code: 40100, message: 'too many' }, { kind: 'rate_limited', code: '40100' }],
      [200, { code: 50000, message: 'system' }, { kind: 'transient', code: '50000' }],
      [200, { code: 40002, message: 'params' }, { kind: 'refused', code: '40002' }],
      [200, { code: 40001, message: 'permission' }, { kind: 'refused', code: '40001' }],
      [200, {}, { kind: 'transient', code: 'http_200' }],
      [401, null, { kind: 'reauth', code: 'http_401' }],
      [429, null, { kind: 'rate_limited', code: 'http_429' }],
      [503, { code: 40002 }, { kind: 'transient', code: '40002' }],
    ];
    for (const [status, body, expected] of cases)
      expect(tiktokAdsErrorInfo(status, body), JSON.stringify([status, body])).toEqual(expected);
  });
});
