import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import { requireKey } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import { INGEST_LIMITS } from '../ingest/event-limits.ts';
import type { SegmentService } from './segment-service.ts';

/** Segment's own cap on messages in one batch (its HTTP Tracking API). */
export const SEGMENT_BATCH_MESSAGES = 2500;

/** The batch routes and the single-message routes (analytics.js uses the one-letter forms). */
export const SEGMENT_BATCH_ROUTES = ['/segment/v1/batch', '/segment/v1/b'] as const;
export const SEGMENT_SINGLE_ROUTES = [
  ...['track', 'identify', 'page', 'screen', 'group', 'alias'].map((t) => `/segment/v1/${t}`),
  ...['t', 'i', 'p', 's', 'g', 'a'].map((t) => `/segment/v1/${t}`),
];
export const SEGMENT_ROUTES: readonly string[] = [...SEGMENT_BATCH_ROUTES, ...SEGMENT_SINGLE_ROUTES];

const SINGLE_TYPE: Record<string, string> = {
  t: 'track',
  i: 'identify',
  p: 'page',
  s: 'screen',
  g: 'group',
  a: 'alias',
};

const BatchBody = Type.Object(
  {
    batch: Type.Array(Type.Unknown(), {
      maxItems: SEGMENT_BATCH_MESSAGES,
      description: 'Segment messages (track, identify, page, screen, alias; group is refused per message)',
    }),
    sentAt: Type.Optional(Type.Unknown()),
    context: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
);

const MessageBody = Type.Object({}, { additionalProperties: true, description: 'One Segment message' });

const SegmentResponse = Type.Object({
  success: Type.Literal(true),
  accepted: Type.Integer({ description: 'Events stored by this request' }),
  duplicates: Type.Integer({ description: 'Messages already held (same messageId): safe retries' }),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), code: Type.String(), message: Type.String() })),
});

const bodyBytes = (headers: Record<string, unknown>) =>
  Number(headers['content-length'] ?? Number.POSITIVE_INFINITY);

/**
 * The Segment HTTP Tracking API at `/segment/v1/*` with a project's publishable key (as the Basic user
 * name, or `writeKey` in the body as browser libraries send it). Bodies are JSON, also when labelled
 * `text/plain` (analytics.js sends that to avoid a CORS preflight).
 */
export function registerSegmentRoutes(app: AppInstance, deps: { segment: SegmentService }): void {
  const config = { auth: 'publishable' as const, keyInBasicAuth: true };
  const responses = { 200: SegmentResponse, ...errorResponses(400, 401, 403, 413, 429, 503) };
  for (const url of SEGMENT_BATCH_ROUTES) {
    app.post(
      url,
      {
        bodyLimit: INGEST_LIMITS.batchBytes,
        config,
        schema: {
          tags: ['Segment-compatible ingest'],
          summary: 'Segment batch',
          body: BatchBody,
          response: responses,
        },
      },
      async (req) =>
        deps.segment.ingest(requireKey(req), req.body.batch, req.body, req.ip, bodyBytes(req.headers), false),
    );
  }
  for (const url of SEGMENT_SINGLE_ROUTES) {
    const name = url.slice('/segment/v1/'.length);
    const type = SINGLE_TYPE[name] ?? name;
    app.post(
      url,
      {
        bodyLimit: INGEST_LIMITS.eventBytes,
        config,
        schema: {
          tags: ['Segment-compatible ingest'],
          summary: `Segment ${type}`,
          body: MessageBody,
          response: responses,
        },
      },
      async (req) => {
        const message = { ...(req.body as Record<string, unknown>), type };
        return deps.segment.ingest(requireKey(req), [message], {}, req.ip, bodyBytes(req.headers), true);
      },
    );
  }
}
