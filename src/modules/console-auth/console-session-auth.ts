import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestAuth } from '../../http/app-types.ts';
import type { ConsoleSessionCheck } from '../../http/auth.ts';
import { AppError } from '../../lib/errors.ts';
import { safeEqual } from '../../lib/hashing.ts';
import { PARTNER_ROUTE_ROLES } from './console-permissions.ts';
import { type ConsoleRole, roleAtLeast, roleRefusal } from './console-roles.ts';
import { type ConsoleSignInService, SESSION_ABSOLUTE_MS } from './console-sign-in-service.ts';
import { csrfTokenFor } from './console-tokens.ts';

/**
 * The console's session cookie on every console call, and on the partner routes the console may use
 * (console-permissions.ts). The cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`, and outside localhost
 * `Secure` with the `__Host-` prefix (ASVS 3.3.1/3.3.3). Every state change (not GET/HEAD) needs the
 * CSRF token in `X-CSRF-Token` (derived from the session token, console-tokens.ts) and, when the
 * browser sends an `Origin`, one of this server's own. The role is checked here, on the server, for
 * every call; the page only mirrors it to grey out what would be refused.
 */
const PLAIN_COOKIE = 'layers_session';
const HOST_COOKIE = '__Host-layers_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLocal(request: FastifyRequest): boolean {
  const host = request.hostname.replace(/:\d+$/, '').toLowerCase();
  return LOCAL_HOSTS.has(host) || host.endsWith('.localhost');
}

export function createConsoleSessionAuth(deps: { signIn: ConsoleSignInService; production: boolean }) {
  const { signIn } = deps;

  const secureFor = (request: FastifyRequest) => deps.production || !isLocal(request);

  function tokenOf(request: FastifyRequest): string | undefined {
    const cookies = request.cookies ?? {};
    return cookies[HOST_COOKIE] ?? cookies[PLAIN_COOKIE];
  }

  /** State changes from a page of another origin are refused even before the CSRF token is read. */
  function assertSameOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    if (origin === undefined || origin === 'null') return;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      host = '';
    }
    if (host.toLowerCase() !== String(request.headers.host ?? '').toLowerCase())
      throw new AppError('csrf_token_invalid', 'Requests to the console must come from the console itself.');
  }

  const check: ConsoleSessionCheck & {
    setCookie(request: FastifyRequest, reply: FastifyReply, token: string): void;
    clearCookie(request: FastifyRequest, reply: FastifyReply): void;
    tokenOf(request: FastifyRequest): string | undefined;
    assertSameOrigin(request: FastifyRequest): void;
  } = {
    tokenOf,
    assertSameOrigin,

    hasSession: (request) => tokenOf(request) !== undefined,

    setCookie(request, reply, token) {
      const secure = secureFor(request);
      reply.setCookie(secure ? HOST_COOKIE : PLAIN_COOKIE, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure,
        maxAge: SESSION_ABSOLUTE_MS / 1000,
      });
    },

    clearCookie(request, reply) {
      const secure = secureFor(request);
      reply.clearCookie(secure ? HOST_COOKIE : PLAIN_COOKIE, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure,
      });
    },

    async authenticate(request, reply): Promise<RequestAuth> {
      const token = tokenOf(request);
      const session = token ? await signIn.authenticate(token) : undefined;
      if (!token || !session) {
        if (token) check.clearCookie(request, reply);
        throw new AppError(
          'not_signed_in',
          token
            ? 'Your session has ended (you signed out, were inactive for 30 minutes, or signed in more than 12 hours ago). Sign in again.'
            : 'Sign in to the console to continue.',
        );
      }
      if (!SAFE_METHODS.has(request.method)) {
        assertSameOrigin(request);
        const sent = request.headers['x-csrf-token'];
        if (typeof sent !== 'string' || !safeEqual(sent, csrfTokenFor(token)))
          throw new AppError(
            'csrf_token_invalid',
            'This change was refused because its security token (CSRF) is missing or wrong. Reload the page and try again.',
          );
      }
      const config = request.routeOptions.config;
      let needed: ConsoleRole | undefined;
      if (config.auth === 'session') needed = config.consoleRole ?? 'viewer';
      else needed = PARTNER_ROUTE_ROLES[`${request.method} ${request.routeOptions.url}`];
      if (needed === undefined)
        throw new AppError(
          'role_not_allowed',
          'The console cannot use this part of the API; it takes an API key.',
        );
      if (session.mfaPending && !config.consoleMfaPendingOk)
        throw new AppError(
          'mfa_enrolment_required',
          'Your organisation requires two-factor authentication. Set it up under My account to continue.',
        );
      if (!roleAtLeast(session.role, needed))
        throw new AppError('role_not_allowed', roleRefusal(session.role, needed));
      return { kind: 'session', session, token };
    },
  };
  return check;
}

export type ConsoleSessionAuth = ReturnType<typeof createConsoleSessionAuth>;
