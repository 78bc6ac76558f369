import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { readAsTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { PageEgress } from '../../privacy/data-protection-page.ts';
import type { ApiKeyAuthenticator } from '../api-keys/api-key-authenticator.ts';
import { parseApiKey } from '../api-keys/api-key-format.ts';
import type { EgressLedgerService } from './egress-ledger-service.ts';

/**
 * The public data-protection page, read with a secret key, also shows what left that org in the
 * last 30 days. The page route takes no key (auth `none`), so the key is checked here, with the
 * same rules and messages as every key route: a malformed, unknown or revoked key answers 401 (a
 * mistyped key is not silently ignored), a publishable key 403. Without an Authorization header
 * the page is the public one. A keyed read is request-logged like any key-authenticated request.
 */
const CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

export function createEgressPageReader(deps: {
  authenticator: ApiKeyAuthenticator;
  db: Kysely<Database>;
  egressLedger: EgressLedgerService;
  clock: Clock;
}) {
  return {
    async forRequest(request: FastifyRequest): Promise<PageEgress | undefined> {
      const header = request.headers.authorization;
      if (header === undefined) return undefined;
      const token = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header)?.[1] : undefined;
      const parsed = token ? parseApiKey(token) : undefined;
      if (!parsed)
        throw new AppError(
          'invalid_api_key',
          'The API key is malformed or mistyped (its checksum does not match).',
          {
            headers: CHALLENGE,
          },
        );
      const result = await deps.authenticator.check(parsed.hash);
      if (result.status === 'unknown')
        throw new AppError('invalid_api_key', 'The API key is not valid.', { headers: CHALLENGE });
      if (result.status === 'revoked')
        throw new AppError('revoked_api_key', 'The API key has been revoked.', { headers: CHALLENGE });
      const key = result.key;
      if (key.type !== 'secret')
        throw new AppError(
          'key_type_not_allowed',
          'Publishable keys may only send SDK events; use a secret key here.',
        );
      request.auth = { kind: 'api_key', key };
      return readAsTenant(deps.db, key.orgId, (tx) =>
        deps.egressLedger.lastDaysByVendor({
          tx,
          orgId: key.orgId,
          actor: { type: 'api_key', id: key.id },
          requestId: request.id,
          now: deps.clock.now(),
        }),
      );
    },
  };
}

export type EgressPageReader = ReturnType<typeof createEgressPageReader>;
