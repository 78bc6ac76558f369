import { sql } from 'kysely';
import type { TenantDb } from '../../db/tenant-transaction.ts';
import { suppressionHash } from '../subjects/subject-hashes.ts';
import { createForwardQueueDal } from './forward-queue-dal.ts';
import { createForwardStats } from './forward-stats.ts';

const dal = createForwardQueueDal();
const stats = createForwardStats();

/**
 * The DSR erasure step of the forward queue: deletes up to `limit` queued rows of the user (queued
 * under the user id, or under an anonymous id linked to it) in the erasure's tenant transaction, and
 * counts them as `erased` in the destinations' stats. Returns how many it deleted.
 */
export async function eraseQueuedEvents(
  tx: TenantDb,
  t: { orgId: string; projectId: string; userId: string },
  limit: number,
): Promise<number> {
  const { rows } = await sql<{ anonymous_id: string }>`
    SELECT anonymous_id FROM anonymous_ids
    WHERE org_id = ${t.orgId} AND project_id = ${t.projectId} AND user_id = ${t.userId}`.execute(tx);
  const subjects = [t.userId, ...rows.map((r) => r.anonymous_id)].map((id) =>
    suppressionHash(t.projectId, id),
  );
  let deleted = 0;
  for (const subject of subjects) {
    if (deleted >= limit) break;
    const gone = await dal.eraseSubject(tx, t.orgId, t.projectId, subject, limit - deleted);
    for (const g of gone) {
      deleted += g.n;
      await stats.add(tx, {
        orgId: t.orgId,
        projectId: t.projectId,
        destinationId: g.destination_id,
        at: new Date(),
        erased: g.n,
        left: [{ queuedAt: g.hour, n: g.n }],
      });
    }
  }
  return deleted;
}
