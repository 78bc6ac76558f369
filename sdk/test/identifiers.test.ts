import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/hash.js';
import { hashIdentifier, protectIdentifiers } from '../src/identifiers.js';
import { isSha256Hex, normalizeEmail, normalizePhone } from '../src/normalize.js';

/**
 * The SDK must hash exactly as the server does, or a partner's lookups and data-subject requests
 * would silently miss. The shared golden vectors (owned outside the SDK, also run by the server's
 * tests) are the referee; the SDK's own vectors add SDK-specific cases (traits handling).
 */
const SHARED_VECTORS = fileURLToPath(new URL('../../test/vectors/identifier-vectors.json', import.meta.url));

interface Vector {
  input: string;
  normalized: string;
  sha256: string;
}
interface KindVector {
  kind: 'email' | 'phone';
  input: string;
  normalized?: string;
  sha256: string | null;
}
interface VectorFile {
  email: Vector[];
  phone: Vector[];
  empty?: KindVector[];
  prehashed?: KindVector[];
}

function loadShared(): VectorFile {
  if (!existsSync(SHARED_VECTORS)) {
    throw new Error(`the shared golden vectors are missing: ${SHARED_VECTORS}`);
  }
  return JSON.parse(readFileSync(SHARED_VECTORS, 'utf8')) as VectorFile;
}

const shared = loadShared();
const nodeSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('shared golden vectors (test/vectors/identifier-vectors.json)', () => {
  it('has vectors for both kinds', () => {
    expect(shared.email.length).toBeGreaterThan(0);
    expect(shared.phone.length).toBeGreaterThan(0);
  });

  it.each(shared.email)('email $input', async (v) => {
    expect(normalizeEmail(v.input)).toBe(v.normalized);
    expect(await hashIdentifier('email', v.input, sha256Hex)).toBe(v.sha256);
    const { traits } = await protectIdentifiers({ email: v.input }, sha256Hex);
    expect(traits).toEqual({ email_sha256: v.sha256 });
  });

  it.each(shared.phone)('phone $input', async (v) => {
    expect(normalizePhone(v.input)).toBe(v.normalized);
    expect(await hashIdentifier('phone', v.input, sha256Hex)).toBe(v.sha256);
    const { traits } = await protectIdentifiers({ phone: v.input }, sha256Hex);
    expect(traits).toEqual({ phone_sha256: v.sha256 });
  });

  it.each(shared.empty ?? [])(
    '$kind $input normalizes to nothing and is never hashed nor sent',
    async (v) => {
      expect(await hashIdentifier(v.kind, v.input, sha256Hex)).toBe(v.sha256 ?? undefined);
      const { traits, problems } = await protectIdentifiers({ [v.kind]: v.input, plan: 'pro' }, sha256Hex);
      expect(traits).toEqual({ plan: 'pro' });
      expect(problems).toEqual([`${v.kind}: empty after normalization`]);
    },
  );

  it.each(shared.prehashed ?? [])('$kind digest $input is kept lower-cased, not hashed twice', async (v) => {
    expect(await hashIdentifier(v.kind, v.input, sha256Hex)).toBe(v.sha256);
    // In the raw field (an app that hashed itself) and in the *_sha256 field alike.
    expect((await protectIdentifiers({ [v.kind]: v.input }, sha256Hex)).traits).toEqual({
      [`${v.kind}_sha256`]: v.sha256,
    });
    expect((await protectIdentifiers({ [`${v.kind}_sha256`]: v.input }, sha256Hex)).traits).toEqual({
      [`${v.kind}_sha256`]: v.sha256,
    });
  });
});

describe('SDK vectors (sdk/test/vectors/sdk-identifier-vectors.json)', () => {
  const local = JSON.parse(
    readFileSync(new URL('./vectors/sdk-identifier-vectors.json', import.meta.url), 'utf8'),
  ) as { email: Vector[]; phone: Vector[] };

  it.each([
    ...local.email.map((v) => ['email', v] as const),
    ...local.phone.map((v) => ['phone', v] as const),
  ])('%s %o', async (kind, v) => {
    expect(kind === 'email' ? normalizeEmail(v.input) : normalizePhone(v.input)).toBe(v.normalized);
    expect(nodeSha256(v.normalized)).toBe(v.sha256);
    expect(await hashIdentifier(kind, v.input, sha256Hex)).toBe(v.sha256);
  });
});

describe('properties', () => {
  it('WebCrypto SHA-256 equals node:crypto for any string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), async (text) => {
        expect(await sha256Hex(text)).toBe(nodeSha256(text));
      }),
    );
  });

  it('normalization is idempotent and phone output is ASCII digits only', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(normalizeEmail(normalizeEmail(text))).toBe(normalizeEmail(text));
        expect(normalizePhone(normalizePhone(text))).toBe(normalizePhone(text));
        expect(normalizePhone(text)).toMatch(/^[0-9]*$/);
      }),
    );
  });

  it('no raw email or phone survives protection, whatever the traits hold', async () => {
    const anyValue = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.object());
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { email: anyValue, phone: anyValue, email_sha256: anyValue, phone_sha256: anyValue },
          {
            requiredKeys: [],
          },
        ),
        async (traits) => {
          const { traits: out } = await protectIdentifiers({ ...traits, plan: 'pro' }, sha256Hex);
          expect(out).not.toHaveProperty('email');
          expect(out).not.toHaveProperty('phone');
          for (const field of ['email_sha256', 'phone_sha256'] as const) {
            const value = out[field];
            if (value !== undefined) expect(value).toMatch(/^[0-9a-f]{64}$/);
          }
          expect(out.plan).toBe('pro');
        },
      ),
    );
  });
});

describe('protectIdentifiers', () => {
  const emailHash = nodeSha256('person@example.com');
  const phoneHash = nodeSha256('16505551212');

  it('hashes the API.md example traits and keeps the other traits', async () => {
    const { traits, problems } = await protectIdentifiers(
      { email: ' Person@Example.com ', phone: '+1 (650) 555-1212', plan: 'pro' },
      sha256Hex,
    );
    expect(traits).toEqual({ email_sha256: emailHash, phone_sha256: phoneHash, plan: 'pro' });
    expect(problems).toEqual([]);
  });

  it('keeps an upper-case pre-hashed value, lower-cased, and does not hash it again', async () => {
    const { traits } = await protectIdentifiers({ email_sha256: emailHash.toUpperCase() }, sha256Hex);
    expect(traits).toEqual({ email_sha256: emailHash });
  });

  it('accepts raw and pre-hashed values that agree', async () => {
    const { traits, problems } = await protectIdentifiers(
      { email: 'PERSON@example.com', email_sha256: emailHash },
      sha256Hex,
    );
    expect(traits).toEqual({ email_sha256: emailHash });
    expect(problems).toEqual([]);
  });

  it('drops both when raw and pre-hashed name different people (the server would reject the event)', async () => {
    const { traits, problems } = await protectIdentifiers(
      { email: 'someone.else@example.com', email_sha256: emailHash },
      sha256Hex,
    );
    expect(traits).toEqual({});
    expect(problems).toEqual(['email and email_sha256 disagree']);
  });

  it('drops a *_sha256 value that is not a digest (it may be a plaintext identifier)', async () => {
    const { traits, problems } = await protectIdentifiers({ phone_sha256: '+1 650 555 1212' }, sha256Hex);
    expect(traits).toEqual({});
    expect(problems).toEqual(['phone_sha256: not a 64-character hex SHA-256']);
    expect(JSON.stringify(problems)).not.toContain('650 555');
  });

  it('drops non-string identifiers like the server does', async () => {
    const { traits, problems } = await protectIdentifiers({ phone: 16505551212, email: { a: 1 } }, sha256Hex);
    expect(traits).toEqual({});
    expect(problems).toEqual(['email: not a string', 'phone: not a string']);
  });

  it('without WebCrypto removes raw identifiers instead of sending them, but keeps digests', async () => {
    const { traits, problems } = await protectIdentifiers(
      { email: 'person@example.com', phone_sha256: phoneHash, plan: 'pro' },
      undefined,
    );
    expect(traits).toEqual({ phone_sha256: phoneHash, plan: 'pro' });
    expect(problems).toEqual(['email: WebCrypto unavailable, cannot hash']);
  });

  it('treats null and undefined as absent, silently', async () => {
    const { traits, problems } = await protectIdentifiers({ email: null, phone: undefined }, sha256Hex);
    expect(traits).toEqual({});
    expect(problems).toEqual([]);
  });

  it('isSha256Hex accepts exactly 64 hex characters', () => {
    expect(isSha256Hex(emailHash)).toBe(true);
    expect(isSha256Hex(emailHash.toUpperCase())).toBe(true);
    expect(isSha256Hex(`${emailHash}0`)).toBe(false);
    expect(isSha256Hex(emailHash.slice(1))).toBe(false);
    expect(isSha256Hex(`g${emailHash.slice(1)}`)).toBe(false);
  });
});
