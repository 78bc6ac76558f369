import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database, WebhookEndpointsTable } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';

export type WebhookRow = Omit<Selectable<WebhookEndpointsTable>, 'encrypted_secret'>;

// The ciphertext column is never selected for responses.
const PUBLIC_COLUMNS = [
  'id',
  'org_id',
  'url',
  'description',
  'events',
  'status',
  'created_at',
  'updated_at',
] as const;

export function createWebhooksDal() {
  return {
    async insert(tx: Kysely<Database>, row: Selectable<WebhookEndpointsTable>): Promise<WebhookRow> {
      return tx
        .insertInto('webhook_endpoints')
        .values(row)
        .returning(PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
    },

    async findById(tx: Kysely<Database>, orgId: string, id: string): Promise<WebhookRow | undefined> {
      return tx
        .selectFrom('webhook_endpoints')
        .select(PUBLIC_COLUMNS)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async list(tx: Kysely<Database>, orgId: string, page: PageParams) {
      return paginate(
        tx.selectFrom('webhook_endpoints').select(PUBLIC_COLUMNS).where('org_id', '=', orgId),
        'id',
        page,
      );
    },

    async update(
      tx: Kysely<Database>,
      orgId: string,
      id: string,
      patch: Updateable<WebhookEndpointsTable>,
    ): Promise<WebhookRow> {
      return tx
        .updateTable('webhook_endpoints')
        .set(patch)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .returning(PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
    },

    async remove(tx: Kysely<Database>, orgId: string, id: string): Promise<void> {
      await tx.deleteFrom('webhook_endpoints').where('org_id', '=', orgId).where('id', '=', id).execute();
    },
  };
}

export type WebhooksDal = ReturnType<typeof createWebhooksDal>;
