import type { JsonObject } from './event.js';
import { type IdentifierKind, isSha256Hex, normalizeIdentifier } from './normalize.js';

/**
 * Replaces `traits.email` / `traits.phone` by `email_sha256` / `phone_sha256` before an event is
 * queued, so plaintext identifiers are never persisted on the device nor sent. The rules mirror the
 * server's (src/privacy/identifier-normalizers.ts) so that the SDK never produces a hash the server
 * would compute differently. Whatever cannot become a proper hash is removed rather than sent: the
 * failure mode here is "identifier missing", never "identifier leaked".
 */

export type Sha256 = (text: string) => Promise<string>;

/**
 * The hash the server would store for this raw value: a value that already is a SHA-256 digest
 * (64 hex, surrounding whitespace ignored) is kept lower-cased, never hashed twice; otherwise the
 * normalized value is hashed; undefined when nothing is left after normalization (the hash of ""
 * would be one pseudo-identity shared by unrelated users).
 */
export async function hashIdentifier(
  kind: IdentifierKind,
  raw: string,
  sha256: Sha256,
): Promise<string | undefined> {
  const trimmed = raw.trim();
  if (isSha256Hex(trimmed)) return trimmed.toLowerCase();
  const normalized = normalizeIdentifier(kind, raw);
  return normalized === '' ? undefined : sha256(normalized);
}

export interface ProtectedTraits {
  traits: JsonObject;
  /** What was removed without a hash: field names and reasons, never values (personal data). */
  problems: string[];
}

const KINDS: readonly IdentifierKind[] = ['email', 'phone'];

/** `sha256` is undefined where WebCrypto is unavailable (insecure browser contexts). */
export async function protectIdentifiers(
  traits: JsonObject,
  sha256: Sha256 | undefined,
): Promise<ProtectedTraits> {
  const out: JsonObject = { ...traits };
  const problems: string[] = [];
  for (const kind of KINDS) {
    const hashField = `${kind}_sha256`;
    const raw = out[kind];
    const preHashed = out[hashField];
    delete out[kind];
    delete out[hashField];

    let fromRaw: string | undefined;
    if (isPresent(raw)) {
      if (typeof raw !== 'string') problems.push(`${kind}: not a string`);
      else if (!sha256 && !isSha256Hex(raw.trim()))
        problems.push(`${kind}: WebCrypto unavailable, cannot hash`);
      else {
        fromRaw = await hashIdentifier(kind, raw, sha256 ?? unreachable);
        if (fromRaw === undefined) problems.push(`${kind}: empty after normalization`);
      }
    }

    let fromHash: string | undefined;
    if (isPresent(preHashed)) {
      const candidate = typeof preHashed === 'string' ? preHashed.trim() : '';
      if (isSha256Hex(candidate)) fromHash = candidate.toLowerCase();
      else problems.push(`${hashField}: not a 64-character hex SHA-256`);
    }

    if (fromRaw !== undefined && fromHash !== undefined && fromRaw !== fromHash) {
      // Two different people named in one event; the server would reject it, and guessing which one
      // is meant would attach the event to the wrong person. Neither is sent.
      problems.push(`${kind} and ${hashField} disagree`);
      continue;
    }
    const hash = fromRaw ?? fromHash;
    if (hash !== undefined) out[hashField] = hash;
  }
  return { traits: out, problems };
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Only reached when a digest was passed as the raw value, which needs no hashing. */
async function unreachable(): Promise<string> {
  throw new Error('sha256 unavailable');
}
