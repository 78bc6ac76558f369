import { startMetaCapiFake } from '../test/fakes/meta-capi/meta-capi-fake.ts';

/**
 * The tests' Meta Conversions API fake (test/fakes/meta-capi/), as it is, in its own process for the
 * forwarding bench: parsing and checking a ~560 KB call takes the event loop for milliseconds, and
 * in the bench's process that stalled the load tool's closed loop (and its collector's pauses with
 * it), slowing the ingest being measured for a reason that is not the platform's. Spoken to over
 * the IPC channel: it sends `{url}` once it listens, and answers each `'stats'` with its counts.
 */
export type MetaFakeStats = { accepted: number; requests: number; lastAcceptedAt: number; refused: number };

const fake = await startMetaCapiFake({ token: process.env.META_FAKE_TOKEN ?? '', keep: false });
process.send?.({ url: fake.url });
process.on('message', (message) => {
  if (message !== 'stats') return;
  const stats: MetaFakeStats = {
    accepted: fake.accepted(),
    requests: fake.requests(),
    lastAcceptedAt: fake.lastAcceptedAt(),
    refused: fake.refused.length,
  };
  process.send?.(stats);
});
// The bench is gone (or let go of it): stop.
process.on('disconnect', () => {
  void fake.close().then(() => process.exit(0));
});
