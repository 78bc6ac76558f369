import { describe, expect, it } from 'vitest';
import { isLowerUuid, isSha256Hex, metaEventProblem } from './meta-capi-fake.ts';

// The fake's digest and madid checks are by character code (cheaper at bench rate): they must
// accept and refuse exactly what Meta's documented patterns do.
const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALPHABET = '0123456789abcdefABCDEFgz-/:`@ ';

function mutations(valid: string): string[] {
  const out = [valid, valid.slice(1), `${valid}0`, valid.toUpperCase()];
  for (let i = 0; i < valid.length; i++)
    for (const c of ALPHABET) out.push(valid.slice(0, i) + c + valid.slice(i + 1));
  return out;
}

describe('Meta CAPI fake: identifier formats', () => {
  it('accepts and refuses digests exactly as ^[0-9a-f]{64}$', () => {
    const strings = mutations('0123456789abcdef'.repeat(4));
    for (const s of strings) expect(isSha256Hex(s), s).toBe(HEX64.test(s));
    expect(strings.filter((s) => HEX64.test(s)).length).toBeGreaterThan(64);
  });

  it('accepts and refuses a madid exactly as the lower-case UUID pattern', () => {
    const strings = mutations('6d92078a-8246-4ba4-ae5b-76104861e7dc');
    for (const s of strings) expect(isLowerUuid(s), s).toBe(UUID.test(s));
  });

  it('refuses an event whose hash is not 64 lower-case hex, or whose madid is not a raw UUID', () => {
    const nowS = Math.floor(Date.now() / 1000);
    const event = (user: Record<string, unknown>) => ({
      event_name: 'Purchase',
      event_id: 'e1',
      event_time: nowS,
      action_source: 'app',
      app_data: {
        advertiser_tracking_enabled: 1,
        extinfo: ['i2', '', '', '', '18.1', ...Array(11).fill('')],
      },
      user_data: user,
    });
    const digest = 'ab'.repeat(32);
    expect(metaEventProblem(event({ em: [digest] }), nowS)).toBeNull();
    expect(metaEventProblem(event({ em: [digest.toUpperCase()] }), nowS)?.subcode).toBe(2804016);
    expect(metaEventProblem(event({ ph: [`${digest.slice(1)}g`] }), nowS)?.subcode).toBe(2804016);
    expect(metaEventProblem(event({ madid: '6D92078A-8246-4BA4-AE5B-76104861E7DC' }), nowS)?.subcode).toBe(
      2804001,
    );
    expect(metaEventProblem(event({ madid: '6d92078a-8246-4ba4-ae5b-76104861e7dc' }), nowS)).toBeNull();
  });
});
