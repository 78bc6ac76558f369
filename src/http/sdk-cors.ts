import { SEGMENT_ROUTES } from '../modules/segment/segment-routes.ts';
import type { AppInstance } from './app-types.ts';

/**
 * Browsers send SDK events from partners' own origins, so the ingest route answers CORS: any origin
 * (publishable keys are public by design and no cookies are involved), only POST, only the two
 * headers the SDK sends. The header is set before authentication so that a browser can also read a
 * 401/413/429 answer and react to it. Partner-API routes get no CORS: secret keys never belong in a page.
 */
// Segment's browser library (analytics.js) posts to the Segment-compatible routes the same way.
export const CORS_ROUTES = new Set(['/v1/sdk/events', ...SEGMENT_ROUTES]);

const HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, idempotency-key',
  'access-control-expose-headers': 'request-id, retry-after',
  'access-control-max-age': '600',
};

export function registerSdkCors(app: AppInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (CORS_ROUTES.has(request.routeOptions.url ?? '')) reply.headers(HEADERS);
  });
  for (const url of CORS_ROUTES) {
    app.options(
      url,
      { schema: { tags: ['SDK ingest'], summary: 'CORS preflight for browser SDKs' } },
      async (_request, reply) => reply.code(204).send(),
    );
  }
}
