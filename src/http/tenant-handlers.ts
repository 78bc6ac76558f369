import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { readAsTenant, withTenant } from '../db/tenant-transaction.ts';
import type { Clock } from '../lib/clock.ts';
import { AppError } from '../lib/errors.ts';
import { sha256Hex } from '../lib/hashing.ts';
import type { TenantScope } from '../lib/scope.ts';
import { requirePrincipal } from './auth.ts';
import type { IdempotencyService } from './idempotency-service.ts';

const IDEMPOTENCY_KEY_MAX = 255;
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Runs partner-route handlers inside a tenant transaction (RLS scoped to the key's org).
 *
 * Mutations honour `Idempotency-Key` inside that same transaction: a per-(org, key) advisory lock
 * answers 409 to a concurrent duplicate, a stored response is replayed byte for byte, another body
 * under the same key answers 422, and a first response is stored in the transaction that commits its
 * effect, so "effect committed" and "response replayable" can never disagree, even across a crash.
 * Only successful responses are stored: a request that failed changed nothing and may be retried.
 * What is stored for a response (ciphertext when it carries a secret, the users it names) is the
 * idempotency service's rule (idempotency-service.ts).
 */
export function createTenantHandlers(deps: {
  db: Kysely<Database>;
  clock: Clock;
  idempotency: IdempotencyService;
  /** The org's replay window (a contract may set it), read inside the request's transaction. */
  replayWindowMs: (tx: Kysely<Database>, orgId: string) => Promise<number>;
}) {
  const { db, clock, idempotency } = deps;

  function scopeFor(request: FastifyRequest, tx: Kysely<Database>): TenantScope {
    const principal = requirePrincipal(request);
    return {
      tx,
      orgId: principal.orgId,
      actor: principal.actor,
      requestId: request.id,
      now: clock.now(),
    };
  }

  function idempotencyKeyOf(request: FastifyRequest): string | undefined {
    const raw = request.headers['idempotency-key'];
    if (raw === undefined) return undefined;
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value.length > IDEMPOTENCY_KEY_MAX || !IDEMPOTENCY_KEY_PATTERN.test(value)) {
      throw new AppError('parameter_invalid', 'Idempotency-Key must be 1–255 visible ASCII characters.', {
        param: 'Idempotency-Key',
      });
    }
    return value;
  }

  /**
   * Method, path with its query string as sent, and body: `?suppress=true` is another request than
   * none (a request without a query string hashes as it always did, so entries stored before survive).
   */
  function requestFingerprint(request: FastifyRequest): string {
    return sha256Hex(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`);
  }

  return {
    /** A read: one READ ONLY tenant transaction around the service call. */
    query<T>(request: FastifyRequest, fn: (scope: TenantScope) => Promise<T>): Promise<T> {
      const key = requirePrincipal(request);
      return readAsTenant(db, key.orgId, (tx) => fn(scopeFor(request, tx)));
    },

    /** A write, answered with `status` and the route's serialised response once it has committed. */
    async mutate(
      request: FastifyRequest,
      reply: FastifyReply,
      status: number,
      fn: (scope: TenantScope) => Promise<unknown>,
    ) {
      const key = requirePrincipal(request);
      const rawKey = idempotencyKeyOf(request);
      // Stored and locked by its hash: the header's value itself is never persisted.
      const idemKey = rawKey === undefined ? undefined : sha256Hex(rawKey);
      const outcome = await withTenant(db, key.orgId, async (tx) => {
        const scope = scopeFor(request, tx);
        const fingerprint = idemKey ? requestFingerprint(request) : '';
        if (idemKey) {
          if (!(await idempotency.tryLock(tx, key.orgId, idemKey))) {
            throw new AppError(
              'idempotency_in_flight',
              'A request with this Idempotency-Key is still being processed; retry shortly.',
            );
          }
          const previous = await idempotency.findLive(tx, key.orgId, idemKey, scope.now);
          if (previous) {
            if (previous.requestHash !== fingerprint) {
              throw new AppError(
                'idempotency_key_reused',
                'This Idempotency-Key was used with a different request; use a new key for a new request.',
              );
            }
            return { replayed: true, status: previous.status, body: previous.body };
          }
        }
        const result = await fn(scope);
        reply.code(status);
        const body = reply.serialize(result) as string;
        if (idemKey) {
          await idempotency.store(tx, {
            orgId: key.orgId,
            key: idemKey,
            requestHash: fingerprint,
            status,
            result,
            body,
            params: request.params,
            now: scope.now,
            expiresAt: new Date(scope.now.getTime() + (await deps.replayWindowMs(tx, key.orgId))),
          });
        }
        return { replayed: false, status, body };
      });
      if (outcome.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(outcome.status).type('application/json; charset=utf-8').send(outcome.body);
    },
  };
}

export type TenantHandlers = ReturnType<typeof createTenantHandlers>;
