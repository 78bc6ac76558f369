import { sha256Hex } from '../../lib/hashing.ts';

/**
 * Each org's audit entries form a hash chain: an entry's hash is SHA-256 over the previous entry's
 * hash and the entry's own canonical form. Changing, deleting or reordering any stored entry breaks
 * every hash after it, which `layers audit verify` detects and names.
 */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Redaction without breaking the chain (used by migration 0012 for webhook URLs): a redacted entry
 * keeps its stored `hash` and `prev_hash`, and a later chained entry of this action lists it with its
 * original hash and `redacted_hash`, the chain hash its redacted content gives. Verification accepts
 * an entry whose content no longer gives its hash only when such an entry names it with both.
 */
export const REDACTION_ACTION = 'audit_log.redacted';
export type RedactedEntry = { id: string; seq: number; hash: string; redacted_hash: string };

export type ChainedEntry = {
  id: string;
  org_id: string;
  seq: number;
  action: string;
  actor_type: 'api_key' | 'user' | 'system';
  actor_id: string | null;
  resource_type: string;
  resource_id: string;
  changes: unknown;
  request_id: string | null;
  created_at: string;
};

/** JSON with object keys sorted at every depth, so the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function chainHash(prevHash: string, entry: ChainedEntry): string {
  return sha256Hex(`${prevHash}\n${canonicalJson(entry)}`);
}
