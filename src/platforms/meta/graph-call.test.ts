import { describe, expect, it } from 'vitest';
import { EgressError } from '../../egress/egress-error.ts';
import { graphError } from './graph-call.ts';

/** A Graph error answer as the gateway hands it over. */
const answer = (status: number, error: object, headers: Record<string, string> = {}, retryAfterMs?: number) =>
  new EgressError('http_error', 'x', {
    vendor: 'meta',
    purpose: 'publishing',
    status,
    body: Buffer.from(
      JSON.stringify({ error: { message: 'm', type: 'OAuthException', fbtrace_id: 't', ...error } }),
    ),
    headers,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });

describe('Meta publishing: Graph errors', () => {
  it('190 and its subcodes (460 password changed, 463 expired, 467 invalid) are reauth', () => {
    for (const sub of [460, 463, 467])
      expect(graphError(answer(400, { code: 190, error_subcode: sub }))).toMatchObject({
        kind: 'reauth',
        vendorCode: '190',
      });
  });

  it('a permission taken back (200-299) is reauth; the app lacking one (10) is refused', () => {
    for (const code of [200, 230, 299])
      expect(graphError(answer(403, { code }))).toMatchObject({ kind: 'reauth', vendorCode: String(code) });
    expect(graphError(answer(400, { code: 10 }))).toMatchObject({ kind: 'refused', vendorCode: '10' });
    expect(graphError(answer(400, { code: 300 })).kind).toBe('refused');
  });

  it('4, 17, 32, 613 and Business Use Case codes are rate_limited, waiting as Retry-After or the BUC header says', () => {
    for (const code of [4, 17, 32, 613, 80001, 80002])
      expect(graphError(answer(400, { code })).kind).toBe('rate_limited');
    expect(graphError(answer(429, { code: 4 }, {}, 5000)).retryAfterMs).toBe(5000);
    const gatewayVerdict = new EgressError('rate_limited', 'x', {
      vendor: 'meta',
      purpose: 'publishing',
      retryAfterMs: 9000,
    });
    expect(graphError(gatewayVerdict)).toMatchObject({ kind: 'rate_limited', retryAfterMs: 9000 });
    const buc = JSON.stringify({
      '1001': [{ type: 'pages', call_count: 100, estimated_time_to_regain_access: 7 }],
    });
    expect(graphError(answer(400, { code: 80001 }, { 'x-business-use-case-usage': buc })).retryAfterMs).toBe(
      7 * 60_000,
    );
  });

  it('2207042 is publishing_cap_reached; other 2207xxx and 9004 are media_rejected; 5xx and 1/2 transient', () => {
    expect(graphError(answer(400, { code: 9, error_subcode: 2207042 }))).toMatchObject({
      kind: 'refused',
      apiCode: 'publishing_cap_reached',
      vendorCode: '2207042',
    });
    expect(graphError(answer(400, { code: 9004, error_subcode: 2207052 }))).toMatchObject({
      apiCode: 'media_rejected',
      vendorCode: '2207052',
    });
    expect(graphError(answer(400, { code: 9004 }))).toMatchObject({
      apiCode: 'media_rejected',
      vendorCode: '9004',
    });
    expect(graphError(answer(500, { code: 2 })).kind).toBe('transient');
    expect(graphError(answer(400, { code: 100 }))).toMatchObject({
      kind: 'refused',
      apiCode: 'platform_refused',
    });
  });
});
