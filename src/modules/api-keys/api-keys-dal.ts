import type { Kysely, Selectable } from 'kysely';
import type { ApiKeysTable, Database } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';

export type ApiKeyRow = Omit<Selectable<ApiKeysTable>, 'key_hash'>;

const PUBLIC_COLUMNS = [
  'id',
  'org_id',
  'project_id',
  'type',
  'name',
  'last4',
  'created_at',
  'revoked_at',
  'last_used_at',
] as const;

export function createApiKeysDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      row: Omit<Selectable<ApiKeysTable>, 'revoked_at' | 'last_used_at'>,
    ): Promise<ApiKeyRow> {
      return tx.insertInto('api_keys').values(row).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow();
    },

    async findById(tx: Kysely<Database>, orgId: string, id: string): Promise<ApiKeyRow | undefined> {
      return tx
        .selectFrom('api_keys')
        .select(PUBLIC_COLUMNS)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async list(tx: Kysely<Database>, orgId: string, page: PageParams) {
      return paginate(
        tx.selectFrom('api_keys').select(PUBLIC_COLUMNS).where('org_id', '=', orgId),
        'id',
        page,
      );
    },

    async revoke(tx: Kysely<Database>, orgId: string, id: string, at: Date): Promise<ApiKeyRow> {
      return tx
        .updateTable('api_keys')
        .set({ revoked_at: at })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .returning(PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
    },

    /** Revokes every live key of an org (offboarding); returns the ids revoked. */
    async revokeAllForOrg(tx: Kysely<Database>, orgId: string, at: Date): Promise<string[]> {
      const rows = await tx
        .updateTable('api_keys')
        .set({ revoked_at: at })
        .where('org_id', '=', orgId)
        .where('revoked_at', 'is', null)
        .returning('id')
        .execute();
      return rows.map((r) => r.id);
    },
  };
}

export type ApiKeysDal = ReturnType<typeof createApiKeysDal>;
