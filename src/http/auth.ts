import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.ts';
import { safeEqual } from '../lib/hashing.ts';
import type { Actor } from '../lib/scope.ts';
import type { ApiKeyAuthenticator } from '../modules/api-keys/api-key-authenticator.ts';
import { parseApiKey } from '../modules/api-keys/api-key-format.ts';
import type { AppInstance, RequestAuth } from './app-types.ts';
import type { RateLimiter } from './rate-limit.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

/** The user name of `Authorization: Basic base64(user:password)` (Segment: the write key, no password). */
function basicUser(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const user = decoded.split(':', 1)[0];
  return user ? user : undefined;
}

const unauthorized = (code: 'missing_api_key' | 'invalid_api_key' | 'revoked_api_key', message: string) =>
  new AppError(code, message, { headers: CHALLENGE });

/**
 * Authenticates each request by its route's `auth` mode. Keys with a bad shape or checksum are refused
 * before any lookup; known keys come from the authenticator's cache. When no operator token is
 * configured the operator API does not exist (404) rather than being open.
 */
export function registerAuth(
  app: AppInstance,
  deps: {
    authenticator: ApiKeyAuthenticator;
    adminToken: string | undefined;
    rateLimiter: RateLimiter;
    /** The console's session cookie (console-auth/console-session-auth.ts); absent: no console. */
    consoleSessions?: ConsoleSessionCheck;
  },
): void {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request, reply) => {
    const mode = request.routeOptions.config.auth ?? 'none';
    if (mode === 'none') return;
    if (mode === 'session') {
      if (!deps.consoleSessions) throw new AppError('route_not_found', 'No such route.');
      request.auth = await deps.consoleSessions.authenticate(request, reply);
      return;
    }
    // A partner route called by the console: its session cookie, no Authorization header.
    if (
      mode === 'secret' &&
      deps.consoleSessions &&
      request.headers.authorization === undefined &&
      deps.consoleSessions.hasSession(request)
    ) {
      request.auth = await deps.consoleSessions.authenticate(request, reply);
      return;
    }

    if (mode === 'admin') {
      if (!deps.adminToken)
        throw new AppError('route_not_found', 'No such route. See /docs for the API reference.');
      const token = bearerToken(request);
      if (!token)
        throw unauthorized('missing_api_key', 'Send the operator token as Authorization: Bearer <token>.');
      if (!safeEqual(token, deps.adminToken))
        throw unauthorized('invalid_api_key', 'The operator token is not valid.');
      request.auth = { kind: 'admin' };
      return;
    }

    // Segment-compatible routes: the key as the Basic user name, or (browser libraries) as `writeKey`
    // in the body, read once the body is parsed (the preValidation hook below).
    const segment = request.routeOptions.config.keyInBasicAuth === true;
    if (segment && request.headers.authorization === undefined) return;
    // (A Bearer key is taken there too, as everywhere else.)
    const token = segment ? (basicUser(request) ?? bearerToken(request)) : bearerToken(request);
    if (!token)
      throw unauthorized(
        'missing_api_key',
        segment
          ? 'Send your publishable key as the Basic user name: Authorization: Basic base64(<key>:).'
          : 'Send your API key as Authorization: Bearer <key>.',
      );
    await authenticateKey(request, reply, token, mode);
  });

  // Before schema validation, so that a request without any key answers 401 whatever its body.
  app.addHook('preValidation', async (request, reply) => {
    if (request.auth !== null || request.routeOptions.config.keyInBasicAuth !== true) return;
    const writeKey = (request.body as { writeKey?: unknown } | null | undefined)?.writeKey;
    if (typeof writeKey !== 'string' || writeKey.length === 0)
      throw unauthorized(
        'missing_api_key',
        'Send your publishable key as the Basic user name (Authorization: Basic base64(<key>:)) or as writeKey.',
      );
    await authenticateKey(request, reply, writeKey, request.routeOptions.config.auth ?? 'none');
  });

  async function authenticateKey(
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    mode: string,
  ): Promise<void> {
    const parsed = parseApiKey(token);
    if (!parsed)
      throw unauthorized(
        'invalid_api_key',
        'The API key is malformed or mistyped (its checksum does not match).',
      );
    const result = await deps.authenticator.check(parsed.hash);
    if (result.status === 'unknown') throw unauthorized('invalid_api_key', 'The API key is not valid.');
    if (result.status === 'revoked') throw unauthorized('revoked_api_key', 'The API key has been revoked.');
    const key = result.key;
    if (mode === 'secret' && key.type !== 'secret') {
      throw new AppError(
        'key_type_not_allowed',
        'Publishable keys may only send SDK events; use a secret key here.',
      );
    }
    if (mode === 'publishable' && key.type !== 'publishable') {
      throw new AppError('key_type_not_allowed', "SDK ingest takes a project's publishable key (lyr_pk_…).");
    }
    request.auth = { kind: 'api_key', key };
    const limit = deps.rateLimiter.take(key);
    if (!limit.ok) {
      const retryAfter = String(Math.ceil(limit.waitMs / 1000));
      reply.header('Retry-After', retryAfter);
      throw new AppError(
        'rate_limited',
        limit.scope === 'key'
          ? 'Too many requests for this API key; retry after the Retry-After delay.'
          : "Too many requests for this organisation's keys together; retry after the Retry-After delay.",
        { headers: { 'Retry-After': retryAfter } },
      );
    }
  }
}

/** How the console's sessions plug into authentication (the hook stays ignorant of cookies). */
export type ConsoleSessionCheck = {
  hasSession(request: FastifyRequest): boolean;
  /** The session's auth for this route, or an AppError (401 not signed in, 403 CSRF or role). */
  authenticate(request: FastifyRequest, reply: FastifyReply): Promise<RequestAuth>;
};

/** Who a tenant route acts for: an API key's org, or a console session's org and account. */
export function requirePrincipal(request: FastifyRequest): { orgId: string; actor: Actor } {
  const auth = request.auth;
  if (auth?.kind === 'api_key') return { orgId: auth.key.orgId, actor: { type: 'api_key', id: auth.key.id } };
  if (auth?.kind === 'session')
    return { orgId: auth.session.orgId, actor: { type: 'user', id: auth.session.accountId } };
  throw new Error('route is not tenant-authenticated');
}

/** The authenticated key of a key-authenticated route (the auth hook guarantees one). */
export function requireKey(request: FastifyRequest) {
  if (request.auth?.kind !== 'api_key') throw new Error('route is not key-authenticated');
  return request.auth.key;
}
