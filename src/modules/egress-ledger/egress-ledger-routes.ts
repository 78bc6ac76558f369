import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { EgressRollupEntry, EgressRollupQuery } from './egress-ledger-schemas.ts';
import type { EgressLedgerService } from './egress-ledger-service.ts';

/** GET /v1/data-protection/egress: what left this org for which vendor, per day (API.md). */
export function registerEgressLedgerRoutes(
  app: AppInstance,
  deps: { egressLedger: EgressLedgerService; tenant: TenantHandlers },
): void {
  app.get(
    '/v1/data-protection/egress',
    {
      config: { auth: 'secret' },
      schema: {
        tags: ['Data protection'],
        summary:
          'What left for third parties: per UTC day × vendor × purpose × data classes, newest day first (default: the last 30 days)',
        querystring: EgressRollupQuery,
        response: { 200: ListOf(EgressRollupEntry), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) => deps.tenant.query(req, (scope) => deps.egressLedger.rollup(scope, req.query)),
  );
}
