import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { AuthenticatedKey } from '../modules/api-keys/api-key-authenticator.ts';
import type { ConsoleRole } from '../modules/console-auth/console-roles.ts';
import type { SessionAuth } from '../modules/console-auth/console-sign-in-service.ts';

/** The Fastify instance every route module registers on: TypeBox schemas give types and validation. */
export type AppInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * How a route authenticates: the operator token, a secret key (partner server; the console's session
 * cookie too, for the routes console-auth/console-permissions.ts lists), a publishable key (customer
 * SDK; ingest only), a console session only (the console's own routes), or none (health, docs, metrics).
 */
export type AuthMode = 'admin' | 'secret' | 'publishable' | 'session' | 'none';

export type RequestAuth =
  | { kind: 'admin' }
  | { kind: 'api_key'; key: AuthenticatedKey }
  | { kind: 'session'; session: SessionAuth; token: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    /** Segment-compatible routes: the key comes as the Basic user name or as `writeKey` in the body. */
    keyInBasicAuth?: boolean;
    /** Resource kinds whose ids appear in this route's path params, for the route-security suite. */
    tenantParams?: Record<string, string>;
    /** Console routes: the least role that may call this one (default viewer). */
    consoleRole?: ConsoleRole;
    /** Console routes open while an org-required MFA enrolment is still pending (enrolment, sign-out). */
    consoleMfaPendingOk?: boolean;
  }
  interface FastifyRequest {
    auth: RequestAuth | null;
  }
}
