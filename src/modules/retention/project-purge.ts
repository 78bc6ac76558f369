import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { DATA_CLASSES } from '../../privacy/data-classes.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ProjectsDal } from '../projects/projects-dal.ts';
import type { PurgeDal } from './purge-dal.ts';
import { deletionOrder } from './purge-order.ts';

/**
 * A project past its deletion grace period disappears with everything it owned: every row of every
 * table with a `project_id` column (events, profiles, publishable keys, data-subject receipts,
 * whatever is added later), children before parents, then the project row itself, whose removal is
 * recorded in the org's audit log with the counts (never the content). The tables come from the
 * catalog, so a new project-owned table is covered without code here.
 */
const PROJECTS_PER_ROUND = 100;

/** Deletes what a project or an org stored outside the database (the media store). */
export type ObjectPurger = {
  purgeProject(orgId: string, projectId: string): Promise<number>;
  purgeOrg(orgId: string): Promise<number>;
};

export type ProjectPurgeResult = { projects: number; rowsByClass: Record<string, number> };

function classOfTable(table: string): string {
  return DATA_CLASSES.find((c) => c.tables.includes(table))?.name ?? `unclassified:${table}`;
}

export async function purgeDueProjects(deps: {
  db: Kysely<Database>;
  purgeDal: PurgeDal;
  projectsDal: ProjectsDal;
  auditLog: AuditLogService;
  now: Date;
  batchSize: number;
  /** Stored objects outside the database (media files, S3 objects): deleted before the rows. */
  objects?: ObjectPurger | undefined;
}): Promise<ProjectPurgeResult> {
  const { db, purgeDal, projectsDal, now } = deps;
  const owned = [...(await purgeDal.tablesWithColumn(db, 'project_id'))].filter((t) => t !== 'projects');
  const order = deletionOrder(await purgeDal.foreignKeys(db), owned);
  const result: ProjectPurgeResult = { projects: 0, rowsByClass: {} };
  const add = (cls: string, n: number) => {
    result.rowsByClass[cls] = (result.rowsByClass[cls] ?? 0) + n;
  };
  let after = '';
  for (;;) {
    const due = await projectsDal.pastDeletionGrace(db, now, { after, limit: PROJECTS_PER_ROUND });
    for (const project of due) {
      const counts: Record<string, number> = {};
      // Objects first: a crash after this leaves rows without objects (verify reports them) that the
      // next sweep deletes; never objects that no row or purge would find again.
      if (deps.objects) await deps.objects.purgeProject(project.org_id, project.id);
      for (const table of order) {
        const n = await purgeDal.deleteInBatches(db, table, { projectId: project.id }, deps.batchSize);
        if (n === 0) continue;
        const cls = classOfTable(table);
        counts[cls] = (counts[cls] ?? 0) + n;
      }
      const owner = classOfTable('projects');
      const removed = await withTenant(db, project.org_id, async (tx) => {
        if (!(await projectsDal.deletePastDeletionGrace(tx, project.org_id, project.id, now))) return false;
        await deps.auditLog.record(
          { tx, orgId: project.org_id, actor: { type: 'system', id: null }, requestId: null, now },
          {
            action: 'project.purged',
            resource: { type: 'project', id: project.id },
            changes: { purged_rows: { after: { ...counts, [owner]: (counts[owner] ?? 0) + 1 } } },
          },
        );
        return true;
      });
      for (const [cls, n] of Object.entries(counts)) add(cls, n);
      if (removed) {
        add(owner, 1);
        result.projects += 1;
      }
    }
    if (due.length < PROJECTS_PER_ROUND) return result;
    after = due[due.length - 1]?.id ?? after;
  }
}
