import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppInstance } from './app-types.ts';

/**
 * Logs carry no personal data and no secrets: no IP, no raw URL (it can hold a user id), no query
 * string, no header value, no body. Requests are described by their route pattern; errors by their
 * type, SQLSTATE and stack frames, never their message unless it is one of our own AppErrors.
 */
export function safeErrorSerializer(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const e = err as Error & { code?: unknown; constraint?: unknown; table?: unknown; routine?: unknown };
  const frames = (e.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at '));
  const out: Record<string, unknown> = { type: e.constructor?.name ?? e.name, stack: frames.join('\n') };
  if (e.name === 'AppError') out.message = e.message;
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.constraint === 'string') out.constraint = e.constraint;
  if (typeof e.table === 'string') out.table = e.table;
  if (typeof e.routine === 'string') out.routine = e.routine;
  return out;
}

export function createLogger(opts: { level: string; stream?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: undefined,
      serializers: {
        err: safeErrorSerializer,
        error: safeErrorSerializer,
        // Fastify's defaults would log the raw URL and the remote address.
        req: (req: { method?: string; routeOptions?: { url?: string } }) => ({
          method: req.method,
          route: req.routeOptions?.url ?? null,
        }),
        res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
      },
      redact: { paths: ['*.authorization', '*.headers', '*.body', '*.query', '*.ip', '*.url'], remove: true },
    },
    opts.stream,
  );
}

/** One line per request, with only the fields the request log may hold. */
export function registerRequestLogging(app: AppInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
  });
}
