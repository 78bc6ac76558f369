import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

/**
 * Envelope encryption for secrets we must be able to read back (webhook signing secrets, OAuth and
 * ad-platform tokens). Each value gets its own random data key, wrapped by a key-encryption key (KEK)
 * from config; the KEK id travels in the ciphertext so keys can be rotated: the first configured KEK
 * encrypts, any configured KEK decrypts. The AAD binds the ciphertext to (org, record, field), so a
 * value copied into another row or column fails to decrypt instead of being silently accepted.
 *
 * Format: `lenc1:<kekId>:<base64url(wrapIv|wrapTag|wrappedKey|iv|tag|ciphertext)>`.
 */
const PREFIX = 'lenc1';
const IV = 12;
const TAG = 16;
const KEY = 32;

export type EncryptionContext = { orgId: string; recordId: string; field: string };

export type Envelope = {
  /** A string is sealed as its UTF-8 bytes (`decrypt` gives it back); bytes as they are (`decryptBytes`). */
  encrypt(plaintext: string | Uint8Array, context: EncryptionContext): string;
  decrypt(ciphertext: string, context: EncryptionContext): string;
  decryptBytes(ciphertext: string, context: EncryptionContext): Buffer;
  /** A 32-byte key for one purpose (HKDF-SHA256 of the active key-encryption key with the label). */
  deriveKey(label: string): Buffer;
};

export class KeyMaterialError extends Error {}

/** Parses `LAYERS_ENCRYPTION_KEY`: one or more comma-separated base64 32-byte keys, the first active. */
export function parseKeyEncryptionKeys(value: string): Buffer[] {
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => Buffer.from(s, 'base64'));
  if (keys.length === 0 || keys.some((k) => k.length !== KEY)) {
    throw new KeyMaterialError(
      'LAYERS_ENCRYPTION_KEY must be one or more base64-encoded 32-byte keys, comma-separated',
    );
  }
  return keys;
}

export function generateKeyEncryptionKey(): string {
  return randomBytes(KEY).toString('base64');
}

const kekId = (kek: Buffer) => createHash('sha256').update(kek).digest('hex').slice(0, 8);
const aadOf = (c: EncryptionContext) => Buffer.from(`${c.orgId}\u0000${c.recordId}\u0000${c.field}`);

/**
 * Random bytes (data keys, IVs) cut from a 4 KiB block of the CSPRNG: each call into it costs about
 * as much as sealing a short value. Handed-out bytes are never reused: a spent block is replaced by
 * a new buffer, not refilled.
 */
const RANDOM_BLOCK = 4096;
let randomBlock = Buffer.alloc(0);
let randomAt = 0;
function random(n: number): Buffer {
  if (randomAt + n > randomBlock.length) {
    randomBlock = randomBytes(RANDOM_BLOCK);
    randomAt = 0;
  }
  randomAt += n;
  return randomBlock.subarray(randomAt - n, randomAt);
}

// Keys as KeyObjects: given a Buffer, createCipheriv imports the key on every call, which costs
// about three times the encryption of a short value (forward-queue rows are written at ingest rate).
function seal(key: KeyObject, plaintext: Uint8Array, aad: Buffer): Buffer {
  const iv = random(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: KeyObject, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(IV, IV + TAG));
  return Buffer.concat([decipher.update(sealed.subarray(IV + TAG)), decipher.final()]);
}

export function createEnvelope(keks: Buffer[]): Envelope {
  const active = keks[0];
  if (!active) throw new KeyMaterialError('no key-encryption key configured');
  const byId = new Map(keks.map((k) => [kekId(k), createSecretKey(k)]));
  const activeId = kekId(active);
  const activeKey = byId.get(activeId) as KeyObject;
  const wrappedLength = IV + TAG + KEY;

  function decryptBytes(ciphertext: string, context: EncryptionContext): Buffer {
    const [prefix, id, payload] = ciphertext.split(':');
    const kek = id === undefined ? undefined : byId.get(id);
    if (prefix !== PREFIX || !kek || !payload)
      throw new KeyMaterialError('ciphertext uses an unknown format or key');
    const raw = Buffer.from(payload, 'base64url');
    const aad = aadOf(context);
    const dataKey = open(kek, raw.subarray(0, wrappedLength), aad);
    return open(createSecretKey(dataKey), raw.subarray(wrappedLength), aad);
  }

  return {
    deriveKey(label) {
      return Buffer.from(hkdfSync('sha256', active, Buffer.alloc(0), `layers/${label}`, KEY));
    },
    encrypt(plaintext, context) {
      const aad = aadOf(context);
      const dataKey = random(KEY);
      const wrapped = seal(activeKey, dataKey, aad);
      const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      const body = seal(createSecretKey(dataKey), bytes, aad);
      return `${PREFIX}:${activeId}:${Buffer.concat([wrapped, body]).toString('base64url')}`;
    },
    decrypt: (ciphertext, context) => decryptBytes(ciphertext, context).toString('utf8'),
    decryptBytes,
  };
}

/** True when a stored value has the shape of our ciphertext (used by `layers verify`). */
export function looksLikeCiphertext(value: string): boolean {
  return /^lenc1:[0-9a-f]{8}:[A-Za-z0-9_-]{80,}$/.test(value);
}
