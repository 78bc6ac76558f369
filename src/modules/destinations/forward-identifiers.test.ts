import { createHash } from 'node:crypto';
// Meta's official Node SDK (generation A, 24.x: normalizeAndHash trims, lower-cases, strips phone
// symbols and hashes with SHA-256); a dev dependency, used only here as the reference.
import { ServerSideUtils } from 'facebook-nodejs-business-sdk';
import { describe, expect, it } from 'vitest';
import { emailSha256FromInput } from '../../privacy/identifier-normalizers.ts';
import { e164, externalIdHash, phoneHashFor } from './forward-identifiers.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const meta = (value: string, field: 'em' | 'ph') => ServerSideUtils.normalizeAndHash(value, field) as string;

describe('per-destination identifier hashes, cross-checked against facebook-nodejs-business-sdk', () => {
  it('emails: the stored email_sha256 is exactly what Meta’s SDK sends as em (and TikTok’s email)', () => {
    for (const email of [
      ' Person@Example.com ',
      'john_smith@gmail.com',
      'MIXED.Case+tag@Sub.Example.CO.UK',
      '\tx@y.io\n',
    ]) {
      const ours = emailSha256FromInput({ email });
      expect(ours.status).toBe('ok');
      expect((ours as { sha256: string }).sha256).toBe(meta(email, 'em'));
    }
    // Meta's own documented example.
    expect(meta('John_Smith@gmail.com', 'em')).toBe(sha('john_smith@gmail.com'));
  });

  it('phones written with their country code: our Meta hash is the SDK’s', () => {
    for (const phone of [
      '+1 (650) 555-1212',
      '+44 20 7946 0958',
      '+49 30 901820',
      '+33 1 42 68 53 00',
      '0044 20 7946 0958',
    ]) {
      const ours = phoneHashFor('meta_capi', phone, null);
      expect(ours, phone).toBe(meta(phone, 'ph'));
      expect(ours).toMatch(/^[0-9a-f]{64}$/);
    }
    // Meta's documented vector: (650)555-1212 → 16505551212 → e323ec62…
    expect(phoneHashFor('meta_capi', '(650)555-1212', 'US')).toBe(
      'e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176',
    );
  });

  it('national phones get the default region’s country code, which Meta’s SDK does not add', () => {
    const cases: [string, string, string][] = [
      ['(650) 555-1212', 'US', '1'],
      ['020 7946 0958', 'GB', '44'],
      ['030 901820', 'DE', '49'],
    ];
    for (const [national, region, cc] of cases) {
      const digits = national.replace(/\D/g, '').replace(/^0/, '');
      // The SDK hashes what it is given: with the country code in front it agrees with us.
      expect(phoneHashFor('meta_capi', national, region)).toBe(meta(`${cc}${digits}`, 'ph'));
      // Without one it would hash the bare national digits, which Meta cannot match.
      expect(phoneHashFor('meta_capi', national, region)).not.toBe(meta(national, 'ph'));
    }
  });

  it('TikTok hashes +E.164 (with the plus), Meta the digits without it', () => {
    expect(e164('(650) 555-1212', 'US')).toBe('+16505551212');
    expect(phoneHashFor('tiktok_events', '(650) 555-1212', 'US')).toBe(sha('+16505551212'));
    expect(phoneHashFor('meta_capi', '(650) 555-1212', 'US')).toBe(sha('16505551212'));
    expect(phoneHashFor('tiktok_events', '+44 20 7946 0958', 'US')).toBe(sha('+442079460958'));
  });

  it('a number that cannot be a phone in its region is not sent', () => {
    expect(phoneHashFor('meta_capi', '123', 'US')).toBeUndefined();
    expect(phoneHashFor('tiktok_events', 'not a phone', 'US')).toBeUndefined();
    expect(phoneHashFor('meta_capi', '555-1212', null)).toBeUndefined();
  });

  it('external_id is SHA-256 of project:user_id, so one user id never hashes alike in two projects', () => {
    expect(externalIdHash('proj_a', 'u_1')).toBe(sha('proj_a:u_1'));
    expect(externalIdHash('proj_a', 'u_1')).not.toBe(externalIdHash('proj_b', 'u_1'));
  });
});
