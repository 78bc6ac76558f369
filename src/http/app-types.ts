import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { AuthenticatedKey } from '../modules/api-keys/api-key-authenticator.ts';

/** The Fastify instance every route module registers on: TypeBox schemas give types and validation. */
export type AppInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * How a route authenticates: the operator token, a secret key (partner server), a publishable key
 * (customer SDK; ingest only), or none (health, docs, metrics).
 */
export type AuthMode = 'admin' | 'secret' | 'publishable' | 'none';

export type RequestAuth = { kind: 'admin' } | { kind: 'api_key'; key: AuthenticatedKey };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    /** Segment-compatible routes: the key comes as the Basic user name or as `writeKey` in the body. */
    keyInBasicAuth?: boolean;
    /** Resource kinds whose ids appear in this route's path params, for the route-security suite. */
    tenantParams?: Record<string, string>;
  }
  interface FastifyRequest {
    auth: RequestAuth | null;
  }
}
