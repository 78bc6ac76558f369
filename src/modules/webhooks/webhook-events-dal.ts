import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { DELIVER_JOB_MAX_ATTEMPTS, DELIVER_TASK, DELIVERY_JOB_KEY_PREFIX } from './webhook-delivery-queue.ts';
import { ALL_EVENTS } from './webhook-event-types.ts';

export type NewEvent = { id: string; org_id: string; type: string; data: unknown; created_at: Date };

export function createWebhookEventsDal() {
  return {
    /** The org's enabled endpoints subscribed to `type` (or to everything): the one place subscriptions are matched. */
    async subscribedEndpointIds(tx: Kysely<Database>, orgId: string, type: string): Promise<string[]> {
      const { rows } = await sql<{ id: string }>`
        SELECT id FROM webhook_endpoints
        WHERE org_id = ${orgId} AND status = 'enabled' AND events && ARRAY[${type}, ${ALL_EVENTS}]::text[]
        ORDER BY id`.execute(tx);
      return rows.map((r) => r.id);
    },

    /**
     * The event, one pending delivery per endpoint and one queue job per delivery, in one statement
     * (and so in the caller's transaction: they commit or roll back with the change they report).
     */
    async insert(
      tx: Kysely<Database>,
      event: NewEvent,
      deliveries: { id: string; endpoint_id: string }[],
    ): Promise<void> {
      if (deliveries.length === 0) {
        await tx
          .insertInto('webhook_events')
          .values({ ...event, data: JSON.stringify(event.data) })
          .execute();
        return;
      }
      await sql`
        WITH event AS (
          INSERT INTO webhook_events (id, org_id, type, data, created_at)
          VALUES (${event.id}, ${event.org_id}, ${event.type}, ${JSON.stringify(event.data)}::jsonb, ${event.created_at})
        ), delivery AS (
          INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_id, status, next_attempt_at, created_at)
          SELECT d.id, ${event.org_id}, d.endpoint_id, ${event.id}, 'pending', ${event.created_at}, ${event.created_at}
          FROM unnest(${deliveries.map((d) => d.id)}::text[], ${deliveries.map((d) => d.endpoint_id)}::text[])
            AS d(id, endpoint_id)
          RETURNING id
        )
        SELECT layers_enqueue_job(${DELIVER_TASK}, json_build_object('org_id', ${event.org_id}::text, 'delivery_id', id),
                                  ${DELIVERY_JOB_KEY_PREFIX} || id, NULL, ${DELIVER_JOB_MAX_ATTEMPTS}::int)
        FROM delivery`.execute(tx);
    },
  };
}

export type WebhookEventsDal = ReturnType<typeof createWebhookEventsDal>;
