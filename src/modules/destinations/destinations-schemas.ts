import { Type } from 'typebox';
import { PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

/** Meta dataset / pixel ids and TikTok App ids (the event source of app events) are numeric. */
const PlatformId = Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]+$' });
const AccessToken = Type.String({
  minLength: 8,
  maxLength: 1024,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'The platform access token; stored encrypted and never shown again',
});
const EventName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
const EventMap = Type.Record(Type.String({ minLength: 1, maxLength: 100 }), EventName, {
  minProperties: 1,
  maxProperties: 100,
  description:
    'SDK event name → the platform event name, e.g. {"purchase": "Purchase"} (TikTok: "CompletePayment")',
});
const TestEventCode = Type.Union(
  [Type.String({ minLength: 4, maxLength: 32, pattern: '^[A-Z0-9]+$' }), Type.Null()],
  {
    description:
      'Sent as the platform test event code. Meta does not drop test events: they reach Events Manager and count for ads.',
  },
);
const Country = Type.Union([Type.String({ pattern: '^[A-Z]{2}$' }), Type.Null()], {
  description:
    'ISO 3166-1 alpha-2 region for phone numbers written without a country code, when the event has no country from its IP',
});

const CommonFields = {
  access_token: AccessToken,
  event_map: EventMap,
  test_event_code: Type.Optional(TestEventCode),
  default_phone_country: Type.Optional(Country),
  enabled: Type.Boolean(),
};

/** One shape per platform: Meta names its dataset `pixel_id`, TikTok its app `event_source_id`. */
export const CreateDestinationBody = Type.Union([
  Type.Object(
    { type: Type.Literal('meta_capi'), pixel_id: PlatformId, ...CommonFields },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('tiktok_events'), event_source_id: PlatformId, ...CommonFields },
    { additionalProperties: false },
  ),
]);

export const UpdateDestinationBody = Type.Object(
  {
    access_token: Type.Optional(AccessToken),
    event_map: Type.Optional(EventMap),
    test_event_code: Type.Optional(TestEventCode),
    default_phone_country: Type.Optional(Country),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Destination = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('destination'),
    project_id: Type.String(),
    type: Type.Union([Type.Literal('meta_capi'), Type.Literal('tiktok_events')]),
    pixel_id: Type.Optional(Type.String()),
    event_source_id: Type.Optional(Type.String()),
    event_map: Type.Record(Type.String(), Type.String()),
    test_event_code: Type.Union([Type.String(), Type.Null()]),
    default_phone_country: Type.Union([Type.String(), Type.Null()]),
    enabled: Type.Boolean(),
    status: Type.Union([Type.Literal('active'), Type.Literal('paused')], {
      description: '`paused` when the platform refused the access token; a PATCH with a new token resumes it',
    }),
    paused_reason: Type.Union([Type.Literal('invalid_token'), Type.Null()]),
    paused_at: Type.Union([Timestamp, Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Destination' },
);

export const DestinationStatsHour = Type.Object({
  hour: Timestamp,
  queued: Type.Integer(),
  sent: Type.Integer(),
  rejected: Type.Record(Type.String(), Type.Integer(), {
    description: 'Events the platform (or the per-event check) refused, by error code',
  }),
  dropped: Type.Object({
    too_old: Type.Integer({ description: 'Meta: event_time more than 7 days before sending' }),
    not_consented: Type.Integer({ description: 'Device ids withheld: ad tracking not allowed' }),
  }),
  expired: Type.Integer({ description: 'Still queued after 72 hours: deleted unsent' }),
  erased: Type.Integer({ description: 'Deleted from the queue by a data-subject erasure' }),
  queue_age_p99_seconds: Type.Union([Type.Number(), Type.Null()], {
    description: 'Time from ingest to the platform’s acceptance, 99th percentile (bucket upper bound)',
  }),
});

export const DestinationStats = Type.Object({
  object: Type.Literal('destination_stats'),
  destination_id: Type.String(),
  since: Timestamp,
  until: Timestamp,
  data: Type.Array(DestinationStatsHour),
});

export const StatsQuery = Type.Object(
  { since: Type.Optional(Timestamp), until: Type.Optional(Timestamp) },
  { additionalProperties: false },
);

export const ProjectDestinationsParams = Type.Object({ projectId: PathId });
export const DestinationParams = Type.Object({ destinationId: PathId });
export const ListDestinationsQuery = Type.Object(PageQuery, { additionalProperties: false });
