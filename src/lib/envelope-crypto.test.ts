import { describe, expect, it } from 'vitest';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  looksLikeCiphertext,
  parseKeyEncryptionKeys,
} from './envelope-crypto.ts';

describe('envelope encryption', () => {
  const context = { orgId: 'org_1', recordId: 'wh_1', field: 'signing_secret' };

  it('round-trips, with a fresh data key and IV each time', () => {
    const envelope = createEnvelope(parseKeyEncryptionKeys(generateKeyEncryptionKey()));
    const a = envelope.encrypt('whsec_secret', context);
    const b = envelope.encrypt('whsec_secret', context);
    expect(a).not.toBe(b);
    expect(a).not.toContain('whsec_secret');
    expect(looksLikeCiphertext(a)).toBe(true);
    expect(envelope.decrypt(a, context)).toBe('whsec_secret');
  });

  it('never reuses an IV or a data key, across many blocks of random bytes', () => {
    const envelope = createEnvelope(parseKeyEncryptionKeys(generateKeyEncryptionKey()));
    const raws = Array.from({ length: 500 }, (_, i) => {
      const sealed = envelope.encrypt(`value ${i}`, context);
      expect(envelope.decrypt(sealed, context)).toBe(`value ${i}`);
      return Buffer.from(sealed.split(':')[2] as string, 'base64url');
    });
    // wrapIv | wrapTag | wrappedKey (32) | iv | …: both IVs of every value, and the wrapped keys.
    const ivs = raws.flatMap((r) => [r.subarray(0, 12), r.subarray(60, 72)].map((b) => b.toString('hex')));
    expect(new Set(ivs).size).toBe(1000);
    expect(new Set(raws.map((r) => r.subarray(28, 60).toString('hex'))).size).toBe(500);
  });

  it('binds the ciphertext to its org, record and field', () => {
    const envelope = createEnvelope(parseKeyEncryptionKeys(generateKeyEncryptionKey()));
    const sealed = envelope.encrypt('token', context);
    expect(() => envelope.decrypt(sealed, { ...context, orgId: 'org_2' })).toThrow();
    expect(() => envelope.decrypt(sealed, { ...context, recordId: 'wh_2' })).toThrow();
    expect(() => envelope.decrypt(sealed, { ...context, field: 'other' })).toThrow();
  });

  it('rotates: the first key encrypts, any configured key decrypts, an unknown key fails', () => {
    const oldKey = generateKeyEncryptionKey();
    const newKey = generateKeyEncryptionKey();
    const before = createEnvelope(parseKeyEncryptionKeys(oldKey)).encrypt('v', context);
    const rotated = createEnvelope(parseKeyEncryptionKeys(`${newKey},${oldKey}`));
    expect(rotated.decrypt(before, context)).toBe('v');
    expect(rotated.encrypt('v', context).split(':')[1]).not.toBe(before.split(':')[1]);
    expect(() => createEnvelope(parseKeyEncryptionKeys(newKey)).decrypt(before, context)).toThrow();
  });

  it('rejects tampering and malformed key material', () => {
    const envelope = createEnvelope(parseKeyEncryptionKeys(generateKeyEncryptionKey()));
    const sealed = envelope.encrypt('value', context);
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    expect(() => envelope.decrypt(flipped, context)).toThrow();
    expect(() => parseKeyEncryptionKeys('short')).toThrow(/32-byte/);
    expect(() => parseKeyEncryptionKeys('')).toThrow();
  });
});
