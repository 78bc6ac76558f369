import { describe, expect, it } from 'vitest';
import { generateSigningSecret, signature, signedHeaders } from './webhook-signer.ts';

describe('Standard Webhooks signer', () => {
  it('matches the published test vector of the specification', () => {
    // The reference libraries' vector: secret, message id, timestamp and body as published.
    expect(
      signature(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs with every secret given, newest first, space-separated', () => {
    const current = generateSigningSecret();
    const previous = generateSigningSecret();
    const headers = signedHeaders([current, previous], 'whevt_1', 1700000000, '{}');
    expect(headers['webhook-id']).toBe('whevt_1');
    expect(headers['webhook-timestamp']).toBe('1700000000');
    expect(headers['webhook-signature']).toBe(
      `${signature(current, 'whevt_1', 1700000000, '{}')} ${signature(previous, 'whevt_1', 1700000000, '{}')}`,
    );
    expect(() => signedHeaders([], 'whevt_1', 1, '{}')).toThrow();
  });

  it('generates 256-bit whsec_ secrets', () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateSigningSecret()).not.toBe(secret);
  });
});
