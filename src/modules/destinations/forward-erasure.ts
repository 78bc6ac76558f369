import { sql } from 'kysely';
import type { TenantDb } from '../../db/tenant-transaction.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { suppressionHash } from '../subjects/subject-hashes.ts';
import { openEvents, sealEvents } from './forward-batch.ts';
import { createForwardQueueDal } from './forward-queue-dal.ts';
import { createForwardStats } from './forward-stats.ts';

const dal = createForwardQueueDal();
const stats = createForwardStats();

/**
 * The DSR erasure step of the forward queue, in the erasure's tenant transaction: up to `limit`
 * queue rows holding events of the user (queued under the user id, or under an anonymous id linked
 * to it; found by the rows' clear subject hashes) are opened, the user's events taken out, and the
 * row deleted when nothing else is left or sealed again with the other users' events. The events
 * taken out are counted as `erased` in the destinations' stats. Returns how many events it erased
 * (at least one per row it touched, so fewer than `limit` means none is left).
 */
export async function eraseQueuedEvents(
  tx: TenantDb,
  t: { orgId: string; projectId: string; userId: string },
  limit: number,
  envelope: Envelope,
): Promise<number> {
  const { rows: links } = await sql<{ anonymous_id: string }>`
    SELECT anonymous_id FROM anonymous_ids
    WHERE org_id = ${t.orgId} AND project_id = ${t.projectId} AND user_id = ${t.userId}`.execute(tx);
  const subjects = new Set(
    [t.userId, ...links.map((r) => r.anonymous_id)].map((id) => suppressionHash(t.projectId, id)),
  );
  const rows = await dal.rowsHolding(tx, t.orgId, t.projectId, [...subjects], limit);
  let erased = 0;
  const emptied: string[] = [];
  // Counted per destination and hour queued, one stats write each.
  const counts = new Map<string, { destinationId: string; queuedAt: Date; n: number }>();
  for (const row of rows) {
    const events = openEvents(envelope, row);
    const rest = events.filter((e) => !subjects.has(e.subject));
    const n = events.length - rest.length;
    if (rest.length === 0) emptied.push(row.id);
    else await dal.replaceEvents(tx, row.id, sealEvents(envelope, row.org_id, row.id, rest));
    erased += n;
    const hour = Math.floor(row.created_at.getTime() / 3_600_000);
    const key = `${row.destination_id}:${hour}`;
    const c = counts.get(key) ?? { destinationId: row.destination_id, queuedAt: row.created_at, n: 0 };
    c.n += n;
    counts.set(key, c);
  }
  await dal.remove(tx, emptied);
  for (const c of counts.values())
    await stats.add(tx, {
      orgId: t.orgId,
      projectId: t.projectId,
      destinationId: c.destinationId,
      at: new Date(),
      erased: c.n,
      left: [{ queuedAt: c.queuedAt, n: c.n }],
    });
  return erased;
}
