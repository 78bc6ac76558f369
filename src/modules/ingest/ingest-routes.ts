import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import { requireKey } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { INGEST_LIMITS } from './event-limits.ts';
import type { IngestService } from './ingest-service.ts';

const IngestBody = Type.Object(
  {
    batch: Type.Array(Type.Unknown(), {
      minItems: 1,
      maxItems: INGEST_LIMITS.batchEvents,
      description:
        'Events as in API.md (event_id, type, event, user_id, timestamp, app_id, properties, traits, context)',
    }),
  },
  { additionalProperties: false },
);

const IngestResponse = Type.Object({
  accepted: Type.Integer({ description: 'Events stored by this request' }),
  duplicates: Type.Integer({ description: 'Events already held (same event_id): safe retries' }),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), code: Type.String(), message: Type.String() })),
});

/** `POST /v1/sdk/events` with a project's publishable key. Answers only after the events are committed. */
export function registerIngestRoutes(app: AppInstance, deps: { ingest: IngestService }): void {
  app.post(
    '/v1/sdk/events',
    {
      bodyLimit: INGEST_LIMITS.batchBytes,
      config: { auth: 'publishable' },
      schema: {
        tags: ['SDK ingest'],
        summary: 'Send a batch of SDK events',
        body: IngestBody,
        response: { 200: IngestResponse, ...errorResponses(400, 401, 403, 413, 429, 503) },
      },
    },
    async (req) =>
      deps.ingest.ingest(
        requireKey(req),
        req.body.batch,
        req.ip,
        Number(req.headers['content-length'] ?? Number.POSITIVE_INFINITY),
      ),
  );
}
