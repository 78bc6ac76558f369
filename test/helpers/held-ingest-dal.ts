import { newId } from '../../src/lib/ids.ts';
import { createIngestDal, type EventRow, type IngestDal } from '../../src/modules/ingest/ingest-dal.ts';

/**
 * The real ingest DAL, wrapped to record the size of each flush and how many run at once; the
 * first flush waits for `release` before it writes, so a test can see which writes share a commit.
 */
export function heldIngestDal() {
  const real = createIngestDal();
  const flushes: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let release!: () => void;
  const firstHeld = new Promise<void>((resolve) => {
    release = resolve;
  });
  let first = true;
  const dal: IngestDal = {
    ...real,
    async writeBatch(pool, org, receivedAt, month, batch, profiles) {
      flushes.push(batch.length);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (first) {
          first = false;
          await firstHeld;
        }
        return await real.writeBatch(pool, org, receivedAt, month, batch, profiles);
      } finally {
        inFlight -= 1;
      }
    },
  };
  return { dal, flushes, release, maxInFlight: () => maxInFlight };
}

/** A stored-event row as the ingest writer takes it: a 'view' track event with nothing else set. */
export function viewRow(
  projectId: string,
  eventId: string,
  userId: string,
  patch: Partial<EventRow> = {},
): EventRow {
  return {
    id: newId('event'),
    project_id: projectId,
    event_id: eventId,
    type: 'track',
    event: 'view',
    user_id: userId,
    timestamp: new Date(),
    app_id: null,
    properties: {},
    traits: {},
    email_sha256: null,
    phone_sha256: null,
    geo_country: null,
    geo_region: null,
    ...patch,
  };
}
