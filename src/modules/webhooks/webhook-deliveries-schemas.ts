import { Type } from 'typebox';
import { PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

const Status = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);

const Attempt = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  attempted_at: Timestamp,
  status_code: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The HTTP status the endpoint answered; null when no response came',
  }),
  latency_ms: Type.Number({ description: 'Time to the response headers (or to the failure)' }),
  error: Type.Union([Type.String(), Type.Null()], {
    description:
      'Null on success; otherwise one of timeout, dns_error, address_refused, connection_error, tls_error, insecure_url, redirect, http_error, endpoint_disabled',
  }),
});

export const WebhookDelivery = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('webhook_delivery'),
    webhook_id: Type.String(),
    event: Type.Object({
      id: Type.String({
        description:
          'The webhook event id, `whevt_…` (events stored before the prefix was introduced keep `evt_…`); sent as `webhook-id` on every attempt',
      }),
      type: Type.String(),
      created_at: Timestamp,
    }),
    status: Status,
    attempt_count: Type.Integer({ minimum: 0 }),
    next_attempt_at: Type.Union([Timestamp, Type.Null()], {
      description: 'When the next attempt is due while the delivery is pending',
    }),
    last_attempt: Type.Union([Attempt, Type.Null()]),
    attempts: Type.Array(Attempt, { description: 'Every attempt, oldest first (the latest 50)' }),
    created_at: Timestamp,
    completed_at: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'WebhookDelivery' },
);

export const DeliveryListParams = Type.Object({ webhookId: PathId });
export const DeliveryParams = Type.Object({ webhookId: PathId, deliveryId: PathId });
export const ListDeliveriesQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(Status) },
  { additionalProperties: false },
);
