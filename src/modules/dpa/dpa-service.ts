import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import { systemScope, type TenantScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { DpaDal, DpaRequestRow } from './dpa-dal.ts';
import {
  normalizeCountry,
  type ReviewFlag,
  reviewFlags,
  type TransferMechanism,
  transferMechanisms,
} from './transfer-mechanisms.ts';

/**
 * DPA requests: the page's "email legal@layers.com with the signatory entity, countries of
 * processing, and your requested governing law", as an API. The answer says at once which transfer
 * mechanism applies and which requirements legal must review; the operator then moves the request
 * along (in review → sent for signature → countersigned, or declined). Every step is audited in the
 * org's chain and reported to the org's endpoints as `dpa_request.updated` (ids and status only), in
 * the same transaction.
 */
export type DpaStatus = DpaRequestRow['status'];

const NEXT: Record<DpaStatus, readonly DpaStatus[]> = {
  received: ['in_review', 'declined'],
  in_review: ['sent_for_signature', 'declined'],
  sent_for_signature: ['countersigned', 'in_review', 'declined'],
  countersigned: [],
  declined: [],
};

export type DpaInput = {
  signatory_entity: string;
  countries_of_processing: string[];
  governing_law: string;
  special_requirements?: string[] | undefined;
};

export function createDpaService(deps: {
  dpaDal: DpaDal;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  systemDb: Kysely<Database>;
  clock: Clock;
  legalContact: string;
}) {
  const { dpaDal, auditLog } = deps;

  function countries(input: string[]): string[] {
    const out: string[] = [];
    input.forEach((raw, i) => {
      const code = normalizeCountry(raw);
      if (!code) {
        throw new AppError(
          'parameter_invalid',
          'Countries are ISO 3166-1 alpha-2 codes, e.g. "DE", "GB", "US".',
          { param: `countries_of_processing.${i}` },
        );
      }
      if (!out.includes(code)) out.push(code);
    });
    return out;
  }

  return {
    async create(scope: TenantScope, input: DpaInput): Promise<DpaRequestRow> {
      const codes = countries(input.countries_of_processing);
      const requirements = (input.special_requirements ?? []).map((r) => r.trim()).filter(Boolean);
      const mechanisms = transferMechanisms(codes);
      const flags = reviewFlags(requirements);
      const row = await dpaDal.insert(scope.tx, {
        id: newId('dpaRequest', scope.now.getTime()),
        org_id: scope.orgId,
        status: 'received',
        signatory_entity: input.signatory_entity.trim(),
        countries_of_processing: codes,
        governing_law: input.governing_law.trim(),
        special_requirements: requirements,
        transfer_mechanisms: JSON.stringify(mechanisms),
        review_flags: JSON.stringify(flags),
        created_at: scope.now,
        updated_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'dpa_request.created',
        resource: { type: 'dpa_request', id: row.id },
        changes: {
          status: { after: 'received' },
          countries_of_processing: { after: codes },
          transfer_mechanisms: { after: mechanisms.map((m) => m.mechanism) },
          requirements_needing_review: { after: flags.map((f) => f.requirement) },
        },
      });
      return row;
    },

    async get(scope: TenantScope, id: string): Promise<DpaRequestRow> {
      const row = isId('dpaRequest', id) ? await dpaDal.findById(scope.tx, scope.orgId, id) : undefined;
      if (!row) throw notFound('DPA request', 'dpaRequestId');
      return row;
    },

    list: (scope: TenantScope, page: PageParams) => dpaDal.list(scope.tx, scope.orgId, undefined, page),

    /** Operator: every org's requests, optionally by status. */
    listAll: (status: DpaStatus | undefined, page: PageParams) =>
      dpaDal.list(deps.systemDb, null, status, page),

    /** Operator: moves a request to its next status (audited in the org's chain, actor system). */
    async setStatus(id: string, status: DpaStatus, requestId: string | null): Promise<DpaRequestRow> {
      const current = isId('dpaRequest', id) ? await dpaDal.findAnyById(deps.systemDb, id) : undefined;
      if (!current) throw notFound('DPA request', 'dpaRequestId');
      if (current.status === status) return current;
      if (!NEXT[current.status].includes(status)) {
        const allowed = NEXT[current.status];
        throw new AppError(
          'conflict',
          `A DPA request that is ${current.status} cannot become ${status}` +
            (allowed.length ? ` (next: ${allowed.join(', ')}).` : ' (it is final).'),
        );
      }
      return withTenant(deps.systemDb, current.org_id, async (tx) => {
        const now = deps.clock.now();
        const row = await dpaDal.setStatus(tx, id, status, now);
        const scope = systemScope(tx, current.org_id, now, requestId);
        await auditLog.record(scope, {
          action: 'dpa_request.status_changed',
          resource: { type: 'dpa_request', id },
          changes: { status: { before: current.status, after: status } },
        });
        await deps.events.emit(scope, 'dpa_request.updated', {
          id,
          object: 'dpa_request',
          status: row.status,
        });
        return row;
      });
    },

    toResponse(row: DpaRequestRow) {
      const mechanisms = row.transfer_mechanisms as TransferMechanism[];
      return {
        id: row.id,
        object: 'dpa_request' as const,
        status: row.status,
        signatory_entity: row.signatory_entity,
        countries_of_processing: row.countries_of_processing,
        governing_law: row.governing_law,
        special_requirements: row.special_requirements,
        transfer_required: mechanisms.length > 0,
        transfer_mechanisms: mechanisms,
        requirements_needing_review: row.review_flags as ReviewFlag[],
        contact: deps.legalContact,
        next_step: nextStep(row.status, deps.legalContact),
        created_at: row.created_at.toISOString(),
        updated_at: row.updated_at.toISOString(),
      };
    },
  };
}

function nextStep(status: DpaStatus, legal: string): string {
  switch (status) {
    case 'received':
      return `${legal} reviews the request and sends the DPA template (the EU Commission's SCCs where applicable).`;
    case 'in_review':
      return `${legal} is reviewing the request, including any flagged requirements.`;
    case 'sent_for_signature':
      return 'The DPA has been sent to the signatory entity for signature.';
    case 'countersigned':
      return 'The DPA is countersigned and in force.';
    case 'declined':
      return `The request was declined; write to ${legal} to discuss.`;
  }
}

export type DpaService = ReturnType<typeof createDpaService>;
