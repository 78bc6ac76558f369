import type { TenantDb } from '../../db/tenant-transaction.ts';
import { createIdempotencyDal } from '../../http/idempotency-dal.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { eraseQueuedEvents } from '../destinations/forward-erasure.ts';
import { createErasureDal, type ErasureTarget } from './erasure-dal.ts';

const idempotencyDal = createIdempotencyDal();
const erasureDal = createErasureDal();

/**
 * What an erasure deletes, data class by data class. Each step deletes at most `limit` rows per call
 * and returns how many it deleted; the executor repeats a step until it deletes fewer than `limit`,
 * committing the count with each batch, so a crash loses neither rows nor receipt figures.
 *
 * Not listed, because they never hold a user id: the request log (route patterns only), the audit
 * log (request ids and hashes only), webhook payloads (ids and counts only).
 */
export type { ErasureTarget };

export type ErasureStep = {
  dataClass: string;
  run(tx: TenantDb, target: ErasureTarget, limit: number, envelope: Envelope): Promise<number>;
};

export const ERASURE_STEPS: readonly ErasureStep[] = [
  {
    // Events waiting to be forwarded to a Conversions API (device ids, platform hashes); first, while
    // the anonymous ids linked to the user are still known. A queue row holds several users' events
    // sealed together: the user's are taken out and the rest sealed again.
    dataClass: 'capi_forward_queue',
    run: (tx, t, limit, envelope) => eraseQueuedEvents(tx, t, limit, envelope),
  },
  {
    // Events, with the hashed identifiers they carry; also the anonymous events of linked anonymous ids.
    dataClass: 'sdk_events',
    run: (tx, t, limit) => erasureDal.deleteUserEvents(tx, t, limit),
  },
  {
    // The anonymous ids linked to the user (after the events found through them): the receipt counts them.
    dataClass: 'anonymous_ids',
    run: (tx, t) => erasureDal.deleteAnonymousLinks(tx, t),
  },
  {
    // The current-state profile: merged traits and hashed identifiers.
    dataClass: 'user_profiles',
    run: (tx, t) => erasureDal.deleteUserProfile(tx, t),
  },
  {
    // Replayable responses that name the user (e.g. a lookup's answer): the replay is given up.
    dataClass: 'idempotency_cache',
    // The idempotency cache's own DAL decides which envelopes name the user.
    run: (tx, t, limit) => idempotencyDal.deleteNamingSubject(tx, t, limit),
  },
];
