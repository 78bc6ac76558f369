import { sql } from 'kysely';
import type { Check } from './verify-types.ts';

/**
 * API keys and webhook signing secrets are shown once: a replay envelope that carries one is stored
 * only as ciphertext (idempotency-service.ts). This reads the plaintext bodies of the idempotency
 * cache for anything with the shape of a key (`lyr_sk_`/`lyr_pk_` + 33 base62 characters) or a
 * signing secret (`whsec_` + base64). The ciphertext check covers the encrypted column. Reports
 * counts per org, never a value.
 */
const SECRET_SHAPE = 'lyr_(sk|pk)_[0-9A-Za-z]{33}|whsec_[A-Za-z0-9+/]{16,}';

export const replaySecretsCheck: Check = {
  name: 'replay-secrets',
  description: 'the idempotency cache holds no plaintext API key or webhook secret',
  async run({ db }) {
    const { rows } = await sql<{ org_id: string; n: number }>`
      SELECT org_id, count(*)::int AS n FROM idempotency_keys
      WHERE response_body ~ ${SECRET_SHAPE}
      GROUP BY org_id ORDER BY org_id`.execute(db);
    return rows.map((r) => ({
      message: `idempotency_keys.response_body: ${r.n} stored response(s) hold a plaintext secret (org ${r.org_id})`,
      table: 'idempotency_keys',
      column: 'response_body',
      org_id: r.org_id,
      rows: r.n,
    }));
  },
};
