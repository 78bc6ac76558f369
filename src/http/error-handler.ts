import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { AppError, type ErrorCode } from '../lib/errors.ts';
import type { AppInstance } from './app-types.ts';
import { generateRequestId } from './request-id.ts';

/**
 * One error shape for every failure. Only AppError messages reach the caller; anything unexpected
 * becomes a generic 500 with the request id, and is logged without its message (driver messages can
 * quote the values that caused them).
 */
export function errorBody(request: FastifyRequest, error: AppError) {
  return {
    error: {
      type: error.type,
      code: error.code,
      message: error.message,
      ...(error.param === undefined ? {} : { param: error.param }),
      request_id: request.id,
    },
  };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  if (error.headers) reply.headers(error.headers);
  // Also when the error comes before the hook that sets it (router errors, draining).
  reply.header('Request-Id', request.id);
  return reply.code(error.status).type('application/json; charset=utf-8').send(errorBody(request, error));
}

function validationParam(error: FastifyError): string | undefined {
  const first = error.validation?.[0];
  if (!first) return undefined;
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty;
  const path = first.instancePath.split('/').filter(Boolean).join('.');
  if (missing) return path ? `${path}.${missing}` : missing;
  return path || undefined;
}

const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['body_too_large', 'Request body is too large.'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'unsupported_media_type',
    'Send JSON with Content-Type: application/json.',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_request', 'Request body is empty; send a JSON object.'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_request', 'Request body is not valid JSON.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['invalid_request', 'Content-Length does not match the body.'],
};

export function toAppError(error: FastifyError | Error): AppError | undefined {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError;
  if (fe.validation) {
    const param = validationParam(fe);
    const where = fe.validationContext === 'querystring' ? 'query parameter' : 'parameter';
    const detail = fe.validation[0]?.message ?? 'is invalid';
    const message = param ? `Invalid ${where} '${param}': ${detail}.` : `Invalid request: ${detail}.`;
    return new AppError('parameter_invalid', message, param === undefined ? {} : { param });
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new AppError(mapped[0], mapped[1]);
  // Malformed JSON: the parser's message quotes the body, so it is replaced, never passed on.
  if (error instanceof SyntaxError || fe.statusCode === 400) {
    return new AppError('invalid_request', 'Request body is not valid JSON.');
  }
  if (fe.statusCode === 413) return new AppError('body_too_large', 'Request body is too large.');
  if (fe.statusCode === 415)
    return new AppError('unsupported_media_type', 'Send JSON with Content-Type: application/json.');
  // Any other client error a plugin raises (e.g. @fastify/static's 403 for a path it will not serve)
  // is the caller's, never a 500; its message is not passed on (it may quote the request).
  if (fe.statusCode === 404 || fe.code === 'FST_STATIC_FORBIDDEN_PATH')
    return new AppError('route_not_found', 'No such route. See /docs for the API reference.');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return new AppError('invalid_request', 'The request is not valid.');
  return undefined;
}

/**
 * Errors the router raises before any route or hook runs (Fastify's `frameworkErrors`): a path with
 * malformed percent-encoding, a path parameter over the router's length limit. Fastify's own bodies
 * for these quote the raw path (user ids included) and are outside the contract; ours never name it.
 */
const ROUTER_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_BAD_URL: ['invalid_request', 'The URL path is not valid: it has malformed percent-encoding.'],
  FST_ERR_MAX_PARAM_LENGTH: ['uri_too_long', 'A path parameter is longer than any id this API accepts.'],
};

export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (
  error,
  request,
  reply,
) => {
  const [code, message] = ROUTER_ERRORS[error.code] ?? [
    'invalid_request',
    'The request could not be routed. See /docs for the API reference.',
  ];
  void sendError(request, reply, new AppError(code, message));
};

const CLIENT_ERRORS: Record<string, [number, ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'invalid_request', 'The request took too long to arrive.'],
  HPE_HEADER_OVERFLOW: [431, 'invalid_request', 'The request headers are too large.'],
};

/** Reason phrases of the statuses a client error can answer with (the status line needs one). */
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * Malformed HTTP on the socket (no request object exists yet): answered in the error contract, with a
 * fresh request id, then the connection is closed. Nothing of the request is quoted or logged.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'invalid_request',
    'The request is not valid HTTP.',
  ];
  const requestId = generateRequestId();
  const body = JSON.stringify({
    error: { type: new AppError(code, message).type, code, message, request_id: requestId },
  });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nRequest-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * While the server drains (after close() began), a request that still arrives on an open connection
 * is answered 503 in the contract with `Connection: close`, so the client retries elsewhere. This
 * replaces Fastify's own 503 (`return503OnClosing`), whose body is outside the contract.
 */
function registerDrainAnswer(app: AppInstance): void {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!draining) return;
    reply.header('Connection', 'close');
    throw new AppError('service_unavailable', 'The server is shutting down; retry the request.', {
      headers: { 'Retry-After': '1' },
    });
  });
}

export function registerErrorHandling(app: AppInstance): void {
  registerDrainAnswer(app);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toAppError(error);
    if (known) return sendError(request, reply, known);
    request.log.error({ err: error }, 'unhandled error');
    return sendError(
      request,
      reply,
      new AppError(
        'internal_error',
        'Something went wrong on our side. Quote the request id if you contact support.',
      ),
    );
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new AppError('route_not_found', 'No such route. See /docs for the API reference.'),
    ),
  );
}
