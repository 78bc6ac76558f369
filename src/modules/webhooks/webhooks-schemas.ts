import { Type } from 'typebox';
import { PageQuery, PathId, Timestamp } from '../../http/schemas.ts';
import { ALL_EVENTS, WEBHOOK_EVENT_TYPES } from './webhook-event-types.ts';

const EventType = Type.Union(
  [...WEBHOOK_EVENT_TYPES, ALL_EVENTS].map((t) => Type.Literal(t)),
  {
    description:
      'An event type of the catalog (ids and non-personal fields only), or `*` for every type, present and future.',
  },
);
const Events = Type.Array(EventType, { minItems: 1, maxItems: 50, uniqueItems: true });
const Url = Type.String({ minLength: 1, maxLength: 2048 });
const Description = Type.String({ maxLength: 500 });

const WebhookFields = {
  id: Type.String(),
  object: Type.Literal('webhook_endpoint'),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  events: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
  disabled_reason: Type.Union([Type.Literal('gone'), Type.Literal('failing'), Type.Null()], {
    description:
      'Why Layers disabled the endpoint: it answered 410 Gone, or it failed continuously for 5 days. Null otherwise.',
  }),
  failing_since: Type.Union([Timestamp, Type.Null()], {
    description: 'Start of the current run of failed deliveries; the endpoint is disabled 5 days after it.',
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const WebhookEndpoint = Type.Object(WebhookFields, { $id: 'WebhookEndpoint' });
export const CreatedWebhookEndpoint = Type.Object(
  { ...WebhookFields, secret: Type.String({ description: 'Signing secret (whsec_…), shown once' }) },
  { $id: 'CreatedWebhookEndpoint' },
);

export const CreateWebhookBody = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description) },
  { additionalProperties: false },
);
export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const RotatedWebhookEndpoint = Type.Object(
  {
    ...WebhookFields,
    secret: Type.String({ description: 'The new signing secret (whsec_…), shown once' }),
    previous_secret_expires_at: Type.String({
      format: 'date-time',
      description: 'Until then deliveries carry a signature with the previous secret too',
    }),
  },
  { $id: 'RotatedWebhookEndpoint' },
);
export const WebhookParams = Type.Object({ webhookId: PathId });
export const ListWebhooksQuery = Type.Object(PageQuery, { additionalProperties: false });
