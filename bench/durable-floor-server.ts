import Fastify from 'fastify';
import { superuserPool } from './bench-support.ts';
import { type BenchEvent, insertEvents } from './sdk-event-insert.ts';

/**
 * The ingest bench's B_durable: the least any endpoint can do and still keep the contract's "200 only
 * after COMMIT" for one event per request. A bare Fastify route (like B_http) that hands each event
 * to a group commit (one multi-row INSERT into the same sdk_events table and indexes, as B_copy) and
 * answers when it has committed. No key check, validation, privacy pipeline, profiles, logging,
 * request log or metrics: what (b) could reach if all of that cost nothing.
 */

const dataDir = process.env.DATA_DIR as string;
const orgId = process.env.ORG_ID as string;
const projectId = process.env.PROJECT_ID as string;
const pool = await superuserPool(dataDir, 10);

let waiting: { event: BenchEvent; committed: () => void; failed: (e: unknown) => void }[] = [];
let flushing = false;
let stored = 0;

/** One flush at a time; whatever arrives meanwhile rides the next one. */
async function flush(): Promise<void> {
  if (flushing || waiting.length === 0) return;
  flushing = true;
  const items = waiting;
  waiting = [];
  try {
    await insertEvents(
      pool,
      { orgId, projectId },
      items.map((i) => ({ id: `evt_floor_${++stored}`, event: i.event, country: null, region: null })),
      'durable_floor_insert',
    );
    for (const item of items) item.committed();
  } catch (error) {
    for (const item of items) item.failed(error);
  } finally {
    flushing = false;
    setImmediate(flush);
  }
}

const app = Fastify({ bodyLimit: 500 * 1024 });
app.get('/', async () => 'ok');
app.post('/v1/sdk/events', async (req) => {
  const batch = (req.body as { batch: BenchEvent[] }).batch;
  await Promise.all(
    batch.map(
      (event) =>
        new Promise<void>((committed, failed) => {
          waiting.push({ event, committed, failed });
          setImmediate(flush);
        }),
    ),
  );
  return { accepted: batch.length, duplicates: 0, rejected: [] };
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
