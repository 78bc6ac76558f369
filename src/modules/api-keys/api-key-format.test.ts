import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, parseApiKey } from './api-key-format.ts';

describe('API key format', () => {
  it('generates prefixed keys with ≥128 random bits that parse back to their hash', () => {
    const secret = generateApiKey('secret');
    const publishable = generateApiKey('publishable');
    expect(secret.secret).toMatch(/^lyr_sk_[0-9A-Za-z]{33}$/);
    expect(publishable.secret).toMatch(/^lyr_pk_[0-9A-Za-z]{33}$/);
    expect(parseApiKey(secret.secret)).toEqual({ type: 'secret', hash: secret.hash });
    expect(parseApiKey(publishable.secret)).toEqual({ type: 'publishable', hash: publishable.hash });
    expect(secret.hash).toBe(hashApiKey(secret.secret));
    expect(secret.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(secret.last4).toBe(secret.secret.slice(-4));
    const many = new Set(Array.from({ length: 1000 }, () => generateApiKey('secret').secret));
    expect(many.size).toBe(1000);
  });

  it('keeps accepting keys issued earlier (golden checksums)', () => {
    expect(parseApiKey('lyr_sk_0123456789ABCDEFGHIJKLMNOPQ1tdX2g')?.type).toBe('secret');
    expect(parseApiKey('lyr_pk_zzzzzzzzzzzzzzzzzzzzzzzzzzz1mtkuG')?.type).toBe('publishable');
  });

  it('refuses any single-character typo by checksum (no database needed)', () => {
    const { secret } = generateApiKey('secret');
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    let refused = 0;
    for (let i = 'lyr_sk_'.length; i < secret.length; i++) {
      for (const c of alphabet) {
        if (c === secret[i]) continue;
        const typo = secret.slice(0, i) + c + secret.slice(i + 1);
        if (parseApiKey(typo) === undefined) refused++;
      }
    }
    const total = (secret.length - 'lyr_sk_'.length) * (alphabet.length - 1);
    expect(refused).toBe(total);
  });

  it('refuses transpositions, truncations and wrong prefixes', () => {
    const { secret } = generateApiKey('publishable');
    expect(parseApiKey(secret.slice(0, -1))).toBeUndefined();
    expect(parseApiKey(`${secret}x`)).toBeUndefined();
    expect(parseApiKey(secret.replace('lyr_pk_', 'lyr_xx_'))).toBeUndefined();
    const chars = [...secret];
    [chars[10], chars[11]] = [chars[11] as string, chars[10] as string];
    if (chars[10] !== chars[11]) expect(parseApiKey(chars.join(''))).toBeUndefined();
  });

  it('never throws and accepts nothing that is not a generated key', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(parseApiKey(s)).toBeUndefined();
      }),
    );
  });
});
