import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { IdempotencyDal } from '../../http/idempotency-dal.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId } from '../../lib/ids.ts';
import type { TenantScope } from '../../lib/scope.ts';
import {
  DATA_CLASSES,
  type DataClassName,
  dataClass,
  isAdjustable,
  isDataClassName,
  retentionSource,
} from '../../privacy/data-classes.ts';
import {
  adjustableClassNames,
  compactDuration,
  describeRetention,
  effectiveRetentionMs,
  isContractValue,
  type OrgOverrides,
  overrideProblem,
  parseDuration,
} from '../../privacy/retention-policy.ts';
import type { AuditChanges, AuditLogService } from '../audit-log/audit-log-service.ts';
import type { OrgsDal } from '../orgs/orgs-dal.ts';
import type { RetentionOverridesDal } from './retention-overrides-dal.ts';

/**
 * Per-org retention: the effective value of every data class for an org (the partner's view) and the
 * operator's contract values for partner-tier orgs, checked against the registry's bounds and audited
 * in the org's own chain with a system actor.
 */
export function createRetentionService(deps: {
  systemDb: Kysely<Database>;
  overridesDal: RetentionOverridesDal;
  orgsDal: OrgsDal;
  idempotencyDal: IdempotencyDal;
  auditLog: AuditLogService;
  clock: Clock;
}) {
  const { systemDb, overridesDal, orgsDal, idempotencyDal, auditLog, clock } = deps;

  function policyResponse(org: { id: string; tier: 'standard' | 'partner' }, overrides: OrgOverrides) {
    return {
      object: 'retention_policy' as const,
      org_id: org.id,
      tier: org.tier,
      data_classes: DATA_CLASSES.map((cls) => {
        const ms = effectiveRetentionMs(cls, overrides);
        return {
          data_class: cls.name,
          title: cls.title,
          holds: cls.holds,
          clock: cls.clock.kind,
          retention_ms: ms,
          retention: describeRetention(cls, ms),
          source: isContractValue(cls, overrides) ? ('contract' as const) : ('default' as const),
          follows: cls.follows ?? null,
          default_ms: retentionSource(cls).defaultMs,
          min_ms: isAdjustable(cls) ? (cls.bounds?.minMs ?? null) : null,
          max_ms: isAdjustable(cls) ? (cls.bounds?.maxMs ?? null) : null,
          adjustable: isAdjustable(cls),
          at_partnership_end: cls.atPartnershipEnd,
        };
      }),
    };
  }

  async function loadOrg(orgId: string) {
    const org = isId('org', orgId) ? await orgsDal.findById(systemDb, orgId) : undefined;
    if (!org) throw notFound('org', 'orgId');
    return org;
  }

  /** Validates the PUT body into the new set of values (null removes a class's value). */
  function parseOverrides(input: Record<string, string | null>): Map<DataClassName, number> {
    const values = new Map<DataClassName, number>();
    for (const [name, raw] of Object.entries(input)) {
      const param = `overrides.${name}`;
      if (!isDataClassName(name)) {
        throw new AppError(
          'parameter_invalid',
          `Unknown data class '${name}'. Adjustable classes: ${adjustableClassNames(DATA_CLASSES).join(', ')}.`,
          { param },
        );
      }
      if (raw === null) continue;
      const ms = parseDuration(raw);
      if (ms === undefined) {
        throw new AppError(
          'parameter_invalid',
          `Retention of ${name} must be a duration like "90d" or "36h".`,
          {
            param,
          },
        );
      }
      const problem = overrideProblem(dataClass(name), ms);
      if (problem) throw new AppError('parameter_invalid', problem, { param });
      values.set(name, ms);
    }
    return values;
  }

  return {
    /** The effective retention of one class for one org, inside the caller's transaction. */
    async effectiveMs(tx: Kysely<Database>, orgId: string, name: DataClassName): Promise<number> {
      const ms = effectiveRetentionMs(dataClass(name), await overridesDal.forOrg(tx, orgId));
      if (ms === null) throw new Error(`data class ${name} has no clock-based retention`);
      return ms;
    },

    /** `GET /v1/data-protection/retention`: the calling org's effective values. */
    async forOrg(scope: TenantScope) {
      const org = await orgsDal.findById(scope.tx, scope.orgId);
      if (!org) throw notFound('org', 'orgId');
      return policyResponse(org, await overridesDal.forOrg(scope.tx, scope.orgId));
    },

    /** Operator view of an org's effective values. */
    async forOrgAsOperator(orgId: string) {
      const org = await loadOrg(orgId);
      return policyResponse(org, await overridesDal.forOrg(systemDb, org.id));
    },

    /** `PUT /admin/v1/orgs/:orgId/retention`: replaces the org's contract values. */
    async setOverrides(orgId: string, input: Record<string, string | null>, requestId: string | null) {
      const org = await loadOrg(orgId);
      if (org.tier !== 'partner') {
        throw new AppError(
          'invalid_request',
          'Custom retention applies at partner tier under a mutual agreement; this org is on the standard tier.',
          { param: 'orgId' },
        );
      }
      if (org.status !== 'active') {
        throw new AppError(
          'conflict',
          'The partnership has ended: its data follows the partnership-end schedule and retention can no longer change.',
        );
      }
      const next: OrgOverrides = parseOverrides(input);
      return withTenant(systemDb, org.id, async (tx) => {
        const now = clock.now();
        const before = await overridesDal.forOrg(tx, org.id);
        await overridesDal.replace(tx, org.id, next, now);
        const changes: AuditChanges = {};
        for (const name of new Set([...before.keys(), ...next.keys()])) {
          const b = before.get(name);
          const a = next.get(name);
          if (a === b) continue;
          changes[name] = {
            before: b === undefined ? null : compactDuration(b),
            after: a === undefined ? null : compactDuration(a),
          };
        }
        // A shorter replay window applies to entries already stored, not only to new ones.
        const window = effectiveRetentionMs(dataClass('idempotency_cache'), next);
        if (window !== null) await idempotencyDal.capWindow(tx, org.id, window);
        if (Object.keys(changes).length > 0) {
          await auditLog.record(
            { tx, orgId: org.id, actor: { type: 'system', id: null }, requestId, now },
            { action: 'org.retention_updated', resource: { type: 'org', id: org.id }, changes },
          );
        }
        return policyResponse(org, next);
      });
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
export type RetentionPolicyResponse = Awaited<ReturnType<RetentionService['forOrg']>>;
