import type { AppInstance } from '../../http/app-types.ts';
import type { RequestLogWriter } from './request-log-writer.ts';

/** Records every key-authenticated request (partner and SDK) by its route pattern, never its URL. */
export function registerRequestLog(app: AppInstance, writer: RequestLogWriter): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.auth?.kind !== 'api_key') return;
    writer.add({
      id: request.id,
      org_id: request.auth.key.orgId,
      api_key_id: request.auth.key.id,
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      latency_ms: reply.elapsedTime,
      created_at: new Date(),
    });
  });
}
