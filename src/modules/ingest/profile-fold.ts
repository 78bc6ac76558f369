import type { EventRow, ProfileUpdate } from './ingest-dal.ts';

/**
 * Folds the newly stored events of a batch into one profile update per (project, user), in
 * event-time order: identify traits merge (later wins) and hashed identifiers accumulate. Events
 * that establish nothing (a track without identifiers) produce no update: first/last seen and
 * geo are read from the events themselves.
 * Updates come out sorted by (project, user) so concurrent batches lock profiles in the same order.
 */
export function foldProfiles(events: EventRow[]): ProfileUpdate[] {
  const byUser = new Map<string, EventRow[]>();
  for (const e of events) {
    // An anonymous event (no user id yet) belongs to no profile: the user's is read through its link.
    if (e.user_id === null || (e.type !== 'identify' && !e.email_sha256 && !e.phone_sha256)) continue;
    const key = `${e.project_id}\u0000${e.user_id}`;
    const list = byUser.get(key);
    if (list) list.push(e);
    else byUser.set(key, [e]);
  }
  const updates: ProfileUpdate[] = [];
  for (const list of byUser.values()) {
    list.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
    const first = list[0] as EventRow;
    const update: ProfileUpdate = {
      project_id: first.project_id,
      user_id: first.user_id as string,
      properties: {},
      properties_at: null,
      email_sha256: [],
      phone_sha256: [],
    };
    for (const e of list) {
      if (e.type === 'identify') {
        Object.assign(update.properties, e.traits);
        update.properties_at = e.timestamp;
      }
      if (e.email_sha256 && !update.email_sha256.includes(e.email_sha256))
        update.email_sha256.push(e.email_sha256);
      if (e.phone_sha256 && !update.phone_sha256.includes(e.phone_sha256))
        update.phone_sha256.push(e.phone_sha256);
    }
    updates.push(update);
  }
  return updates.sort((a, b) =>
    a.project_id === b.project_id ? (a.user_id < b.user_id ? -1 : 1) : a.project_id < b.project_id ? -1 : 1,
  );
}
