import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Clock } from '../../lib/clock.ts';
import { DATA_CLASSES, type DataClass } from '../../privacy/data-classes.ts';
import { effectiveRetentionMs, type OverrideRow, retentionGroups } from '../../privacy/retention-policy.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { OrgsDal } from '../orgs/orgs-dal.ts';
import type { ProjectsDal } from '../projects/projects-dal.ts';
import type { PartnershipEnd } from './partnership-end.ts';
import { purgeDuePartnershipEnds } from './partnership-end-purge.ts';
import { type ObjectPurger, purgeDueProjects } from './project-purge.ts';
import type { PurgeDal } from './purge-dal.ts';
import type { PurgeScheduleDal } from './purge-schedule-dal.ts';
import { type ClassPurgers, type OverdueRows, PURGE_BATCH, type PurgeContext } from './purge-types.ts';
import type { RetentionMetrics } from './retention-metrics.ts';
import type { RetentionOverridesDal } from './retention-overrides-dal.ts';

/**
 * The retention sweeper (job `retention.sweep`, hourly). It runs as the system (owner) connection
 * and, in three phases, purges what the registry says is past retention:
 *
 *  1. projects past their deletion grace period, with everything they owned;
 *  2. the partnership-end schedule of offboarded orgs;
 *  3. each data class by its own clock, with each org's effective retention (contract or default):
 *     whole `sdk_events` partitions dropped when every org's retention has passed them, batched
 *     deletes for the rest.
 *
 * Idempotent (a second run finds nothing), resumable (batches commit one by one; a schedule entry is
 * marked only when done) and safe with several workers: each phase runs under its own advisory lock,
 * skipped by a sweeper that finds it held, and every batch takes its rows FOR UPDATE SKIP LOCKED.
 * It reports counts per data class (metrics and one log line); never any row content or id.
 */
export type SweepReport = {
  /** Rows deleted, by data class (exact). */
  purged: Record<string, number>;
  partitions_dropped: { data_class: string; partition: string; estimated_rows: number }[];
  projects_purged: number;
  partnership_end_purges: number;
  /** Phases another sweeper was running (it purges those rows). */
  skipped: string[];
  duration_ms: number;
};

export type EnforcedRetention = {
  data_class: string;
  clock: DataClass['clock']['kind'];
  retention_ms: number | null;
};

export type SweeperDeps = {
  db: Kysely<Database>;
  clock: Clock;
  overridesDal: RetentionOverridesDal;
  scheduleDal: PurgeScheduleDal;
  purgeDal: PurgeDal;
  orgsDal: OrgsDal;
  projectsDal: ProjectsDal;
  /** The purger of each purge kind (class-purgers.ts). */
  purgers: ClassPurgers;
  partnershipEnd: PartnershipEnd;
  auditLog: AuditLogService;
  metrics: RetentionMetrics;
  batchSize?: number;
  /** The media store's objects, purged with their project or org. */
  objects?: ObjectPurger;
};

export function createRetentionSweeper(deps: SweeperDeps) {
  const { db } = deps;
  const batchSize = deps.batchSize ?? PURGE_BATCH;

  async function contexts(now: Date): Promise<PurgeContext[]> {
    const overrides: OverrideRow[] = await deps.overridesDal.all(db);
    // Org ids matter only when some org has a contract value (groups then list orgs explicitly).
    const orgIds = overrides.length === 0 ? [] : await deps.orgsDal.allIds(db);
    return DATA_CLASSES.map((cls) => ({
      db,
      now,
      cls,
      groups: retentionGroups(cls, overrides, orgIds),
      batchSize,
    }));
  }

  return {
    async sweep(): Promise<SweepReport> {
      const started = performance.now();
      const now = deps.clock.now();
      const report: SweepReport = {
        purged: {},
        partitions_dropped: [],
        projects_purged: 0,
        partnership_end_purges: 0,
        skipped: [],
        duration_ms: 0,
      };
      const add = (rowsByClass: Record<string, number>) => {
        for (const [cls, n] of Object.entries(rowsByClass))
          report.purged[cls] = (report.purged[cls] ?? 0) + n;
      };

      const projects = await deps.purgeDal.withSweepLock(db, 'projects', () =>
        purgeDueProjects({
          db,
          purgeDal: deps.purgeDal,
          projectsDal: deps.projectsDal,
          auditLog: deps.auditLog,
          now,
          batchSize,
          objects: deps.objects,
        }),
      );
      if (projects.ran) {
        report.projects_purged = projects.value.projects;
        add(projects.value.rowsByClass);
      } else report.skipped.push('projects');

      const ends = await deps.purgeDal.withSweepLock(db, 'partnership_end', () =>
        purgeDuePartnershipEnds({
          db,
          scheduleDal: deps.scheduleDal,
          purgeDal: deps.purgeDal,
          partnershipEnd: deps.partnershipEnd,
          now,
          batchSize,
          objects: deps.objects,
        }),
      );
      if (ends.ran) {
        report.partnership_end_purges = ends.value.completed.length;
        for (const cls of ends.value.completed) deps.metrics.partnershipEndPurges.inc({ data_class: cls });
        add(ends.value.rowsByClass);
      } else report.skipped.push('partnership_end');

      for (const ctx of await contexts(now)) {
        const outcome = await deps.purgeDal.withSweepLock(db, `class:${ctx.cls.name}`, () =>
          deps.purgers[ctx.cls.purge].purge(ctx),
        );
        if (!outcome.ran) {
          report.skipped.push(ctx.cls.name);
          continue;
        }
        if (outcome.value.rows > 0) add({ [ctx.cls.name]: outcome.value.rows });
        for (const p of outcome.value.partitions)
          report.partitions_dropped.push({
            data_class: ctx.cls.name,
            partition: p.name,
            estimated_rows: p.estimatedRows,
          });
      }

      report.duration_ms = Math.round(performance.now() - started);
      record(deps.metrics, report);
      return report;
    },

    /** Rows that are past retention now but still stored (for `layers verify`); nothing is deleted. */
    async overdue(at: Date = deps.clock.now()): Promise<(OverdueRows & { data_class: string })[]> {
      const out: (OverdueRows & { data_class: string })[] = [];
      for (const ctx of await contexts(at))
        for (const o of await deps.purgers[ctx.cls.purge].overdue(ctx))
          out.push({ data_class: ctx.cls.name, ...o });
      out.push({
        data_class: 'partner_config',
        table: 'projects (past deletion grace)',
        rows: await deps.projectsDal.countPastDeletionGrace(db, at),
      });
      for (const entry of await deps.scheduleDal.due(db, at))
        out.push({ data_class: entry.data_class, table: 'org_purge_schedule (partnership end)', rows: 1 });
      return out;
    },

    /** The retention the sweeper enforces for an org without a contract value: the page shows these. */
    enforcedDefaults(): EnforcedRetention[] {
      return DATA_CLASSES.map((cls) => ({
        data_class: cls.name,
        clock: cls.clock.kind,
        retention_ms: effectiveRetentionMs(cls, new Map()),
      }));
    },
  };
}

function record(metrics: RetentionMetrics, report: SweepReport): void {
  for (const [cls, n] of Object.entries(report.purged)) metrics.purgedRows.inc({ data_class: cls }, n);
  for (const p of report.partitions_dropped) {
    metrics.partitionsDropped.inc({ data_class: p.data_class });
    metrics.partitionRowsDropped.inc({ data_class: p.data_class }, p.estimated_rows);
  }
  metrics.projectsPurged.inc(report.projects_purged);
  metrics.lastSweepSeconds.set(report.duration_ms / 1000);
  metrics.lastSweepTimestamp.set(Date.now() / 1000);
}

export type RetentionSweeper = ReturnType<typeof createRetentionSweeper>;
