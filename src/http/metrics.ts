import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { AppInstance } from './app-types.ts';

/** Prometheus metrics. Labels are route patterns, methods and status codes: never ids or personal data. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'layers_http_requests_total',
      help: 'HTTP requests by route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'layers_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    requestLogDropped: new Counter({
      name: 'layers_request_log_dropped_total',
      help: 'Request-log rows dropped because the buffer was full while the database was unavailable',
      registers: [registry],
    }),
    ingestEvents: new Counter({
      name: 'layers_ingest_events_total',
      help: 'SDK events by outcome (accepted, duplicate)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    ingestRejections: new Counter({
      name: 'layers_ingest_rejections_total',
      help: 'SDK events rejected, by rejection code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    deviceIdsDropped: new Counter({
      name: 'layers_device_ids_dropped_total',
      help: 'Events whose device ids were dropped because no Conversions API forwarding is enabled',
      registers: [registry],
    }),
    requestLogWritten: new Counter({
      name: 'layers_request_log_written_total',
      help: 'Request-log rows written',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function registerHttpMetrics(app: AppInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}
