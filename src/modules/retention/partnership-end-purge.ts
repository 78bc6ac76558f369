import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { DATA_CLASSES } from '../../privacy/data-classes.ts';
import type { PartnershipEnd } from './partnership-end.ts';
import type { ObjectPurger } from './project-purge.ts';
import type { PurgeDal } from './purge-dal.ts';
import { deletionOrder, orderBefore } from './purge-order.ts';
import type { PurgeScheduleDal } from './purge-schedule-dal.ts';

/**
 * Carries out the partnership-end schedule: every entry whose date has passed gets all of its org's
 * rows of that class deleted (in batches, children before parents) and is then marked done with the
 * count. An entry is marked only once its rows are gone, so a crash resumes where it stopped. Entries
 * are processed in foreign-key order across classes; one blocked by a row another class still holds
 * (a class not yet due) waits for the next sweep.
 */
export type PartnershipEndPurgeResult = { completed: string[]; rowsByClass: Record<string, number> };

export async function purgeDuePartnershipEnds(deps: {
  db: Kysely<Database>;
  scheduleDal: PurgeScheduleDal;
  purgeDal: PurgeDal;
  partnershipEnd: PartnershipEnd;
  now: Date;
  batchSize: number;
  /** Stored objects of the org (media files, S3 objects), deleted before the generated_media rows. */
  objects?: ObjectPurger | undefined;
}): Promise<PartnershipEndPurgeResult> {
  const { db, scheduleDal, purgeDal, now } = deps;
  for (const org of await scheduleDal.offboardedWithoutSchedule(db))
    await deps.partnershipEnd.ensureSchedule(db, org.id, org.offboarded_at);

  const result: PartnershipEndPurgeResult = { completed: [], rowsByClass: {} };
  const add = (cls: string, n: number) => {
    if (n > 0) result.rowsByClass[cls] = (result.rowsByClass[cls] ?? 0) + n;
  };
  const due = await scheduleDal.due(db, now);
  if (due.length === 0) return result;

  // A class goes after every class whose tables reference its tables (profiles before projects).
  const references = await purgeDal.foreignKeys(db);
  const classOf = (table: string) => DATA_CLASSES.find((c) => c.tables.includes(table))?.name;
  const classOrder = orderBefore(
    DATA_CLASSES.map((c) => c.name),
    (name) =>
      references
        .filter((r) => classOf(r.parent) === name)
        .map((r) => classOf(r.child))
        .filter((c): c is string => c !== undefined),
  );
  due.sort((a, b) => classOrder.indexOf(a.data_class) - classOrder.indexOf(b.data_class));

  for (const entry of due) {
    const cls = DATA_CLASSES.find((c) => c.name === entry.data_class);
    let rows = 0;
    try {
      if (entry.data_class === 'generated_media' && deps.objects) await deps.objects.purgeOrg(entry.org_id);
      for (const table of deletionOrder(references, cls?.tables ?? []))
        rows += await purgeDal.deleteInBatches(db, table, { orgId: entry.org_id }, deps.batchSize);
    } catch (error) {
      // 23503: still referenced by a class whose purge date has not come; retried next sweep.
      if ((error as { code?: string }).code !== '23503') throw error;
      add(entry.data_class, rows);
      continue;
    }
    await scheduleDal.markPurged(db, entry.org_id, entry.data_class, now, rows);
    result.completed.push(entry.data_class);
    add(entry.data_class, rows);
  }
  return result;
}
