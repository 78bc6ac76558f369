import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Database, WebhookEndpointsTable } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';

// The ciphertext columns are never selected for responses.
const PUBLIC_COLUMNS = [
  'id',
  'org_id',
  'url',
  'description',
  'events',
  'status',
  'created_at',
  'updated_at',
  'failing_since',
  'disabled_reason',
] as const;

export type WebhookRow = Pick<Selectable<WebhookEndpointsTable>, (typeof PUBLIC_COLUMNS)[number]>;

export function createWebhooksDal() {
  return {
    async insert(tx: Kysely<Database>, row: Insertable<WebhookEndpointsTable>): Promise<WebhookRow> {
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

    /** The current signing secret's ciphertext (for rotation only; never for a response). */
    async findEncryptedSecret(tx: Kysely<Database>, orgId: string, id: string): Promise<string | undefined> {
      const row = await tx
        .selectFrom('webhook_endpoints')
        .select('encrypted_secret')
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.encrypted_secret;
    },

    async remove(tx: Kysely<Database>, orgId: string, id: string): Promise<void> {
      await tx.deleteFrom('webhook_endpoints').where('org_id', '=', orgId).where('id', '=', id).execute();
    },
  };
}

export type WebhooksDal = ReturnType<typeof createWebhooksDal>;
