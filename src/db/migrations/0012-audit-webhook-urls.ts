import { createHash, randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/**
 * Webhook URLs in the audit log. Entries written before this migration recorded an endpoint's URL
 * in full (`changes.url.before/after`), and URLs often carry the receiver's token (Slack, Zapier),
 * kept for the whole partnership. Since then the webhooks service records `{host, sha256}` (the
 * host and the SHA-256 of the whole URL); this migration gives older entries the same form.
 *
 * The audit log is a hash chain, and this keeps it verifiable without rewriting history:
 * - a redacted entry keeps its `hash` and `prev_hash`; only its `changes` change. The next entry's
 *   link still holds, and so does every hash anyone recorded before (a head noted down before the
 *   upgrade is still the hash at that seq);
 * - each org with redacted entries gets one new chained entry, `audit_log.redacted` (actor system),
 *   whose changes name every redacted entry with its seq, its original hash and `redacted_hash`: the
 *   chain hash its redacted content gives;
 * - `verifyChain` accepts an entry whose content no longer gives its hash only when a later entry of
 *   that kind, itself verified in the walk, names it with both hashes. So a redacted entry cannot be
 *   altered again unnoticed either, and the redaction itself is on the record.
 * The alternative, rewriting the entries and re-hashing the chain from the first of them, would also
 * verify, but it would change every later hash: a head recorded earlier, or any copy of the log, would
 * stop matching, and such a rewrite could not be told from a forgery.
 *
 * Self-contained on purpose (shipped migrations never import runtime code): the canonical JSON and
 * chain hash below are the audit chain's rules as they stand at 0012 (src/modules/audit-log/audit-chain.ts).
 */
export const REDACTION_ACTION = 'audit_log.redacted';
const ENTRIES_PER_REDACTION = 500;

type Row = {
  id: string;
  org_id: string;
  seq: string;
  action: string;
  actor_type: string;
  actor_id: string | null;
  resource_type: string;
  resource_id: string;
  changes: Record<string, { before?: unknown; after?: unknown }>;
  request_id: string | null;
  created_at: Date;
  prev_hash: string;
  hash: string;
};

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

function chainHash(prevHash: string, entry: Record<string, unknown>): string {
  return sha256Hex(`${prevHash}\n${canonicalJson(entry)}`);
}

/** What the webhooks service records for a URL since 0012. */
function auditedUrl(url: string): { host: string; sha256: string } {
  let host = '';
  try {
    host = new URL(url).host;
  } catch {
    // Stored URLs were validated; an unparseable one still loses its path and query.
  }
  return { host, sha256: sha256Hex(url) };
}

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** An `aud_` id in the platform's shape: 10 characters of milliseconds, 16 random. */
function auditId(ms: number): string {
  let time = '';
  for (let i = 0, n = ms; i < 10; i++, n = Math.floor(n / 32)) time = ALPHABET[n % 32] + time;
  const random = [...randomBytes(16)].map((b) => ALPHABET[b % 32]).join('');
  return `aud_${time}${random}`;
}

function chained(row: Row, changes: unknown) {
  return {
    id: row.id,
    org_id: row.org_id,
    seq: Number(row.seq),
    action: row.action,
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    changes,
    request_id: row.request_id,
    created_at: row.created_at.toISOString(),
  };
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<Row>`
    SELECT id, org_id, seq, action, actor_type, actor_id, resource_type, resource_id, changes,
           request_id, created_at, prev_hash, hash
    FROM audit_log
    WHERE resource_type = 'webhook_endpoint' AND changes ? 'url'
      AND (jsonb_typeof(changes->'url'->'before') = 'string' OR jsonb_typeof(changes->'url'->'after') = 'string')
    ORDER BY org_id, seq`.execute(db);

  const byOrg = new Map<string, Row[]>();
  for (const row of rows) byOrg.set(row.org_id, [...(byOrg.get(row.org_id) ?? []), row]);

  for (const [orgId, entries] of byOrg) {
    const redacted: { id: string; seq: number; hash: string; redacted_hash: string }[] = [];
    for (const row of entries) {
      const url = Object.fromEntries(
        Object.entries(row.changes.url ?? {}).map(([k, v]) => [k, typeof v === 'string' ? auditedUrl(v) : v]),
      );
      const changes = { ...row.changes, url };
      await sql`UPDATE audit_log SET changes = ${canonicalJson(changes)}::jsonb WHERE id = ${row.id}`.execute(
        db,
      );
      redacted.push({
        id: row.id,
        seq: Number(row.seq),
        hash: row.hash,
        redacted_hash: chainHash(row.prev_hash, chained(row, changes)),
      });
    }

    const head = (
      await sql<{ seq: string; hash: string }>`
        SELECT seq, hash FROM audit_chain_heads WHERE org_id = ${orgId} FOR UPDATE`.execute(db)
    ).rows[0];
    if (!head) throw new Error(`audit chain head missing for ${orgId}`);
    let seq = Number(head.seq);
    let prevHash = head.hash;
    for (let i = 0; i < redacted.length; i += ENTRIES_PER_REDACTION) {
      const now = new Date();
      seq += 1;
      const entry = {
        id: auditId(now.getTime()),
        org_id: orgId,
        seq,
        action: REDACTION_ACTION,
        actor_type: 'system',
        actor_id: null,
        resource_type: 'audit_log',
        resource_id: orgId,
        changes: {
          entries: { after: redacted.slice(i, i + ENTRIES_PER_REDACTION) },
          fields: { after: ['url'] },
          reason: { after: 'webhook URLs are recorded as host and SHA-256 only' },
        },
        request_id: null,
        created_at: now.toISOString(),
      };
      const hash = chainHash(prevHash, entry);
      await sql`
        INSERT INTO audit_log (id, org_id, seq, action, actor_type, actor_id, resource_type, resource_id,
                               changes, request_id, created_at, prev_hash, hash)
        VALUES (${entry.id}, ${orgId}, ${seq}, ${entry.action}, 'system', NULL, 'audit_log', ${orgId},
                ${canonicalJson(entry.changes)}::jsonb, NULL, ${now}, ${prevHash}, ${hash})`.execute(db);
      prevHash = hash;
    }
    await sql`UPDATE audit_chain_heads SET seq = ${seq}, hash = ${prevHash} WHERE org_id = ${orgId}`.execute(
      db,
    );
  }
}
