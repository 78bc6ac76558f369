import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';

/**
 * The ingest bench's B_durable: the least any endpoint can do and still keep the contract's "200 only
 * after COMMIT" for one event per request. A bare Fastify route (like B_http) that hands each event
 * to a group commit (one multi-row INSERT into the same sdk_events table and indexes, as B_copy) and
 * answers when it has committed. No key check, validation, privacy pipeline, profiles, logging,
 * request log or metrics: what (b) could reach if all of that cost nothing.
 */
type Event = {
  event_id: string;
  type: string;
  event: string;
  user_id: string;
  timestamp: string;
  app_id: string;
  properties: unknown;
};

const dataDir = process.env.DATA_DIR as string;
const orgId = process.env.ORG_ID as string;
const projectId = process.env.PROJECT_ID as string;
const creds = JSON.parse(readFileSync(path.join(dataDir, 'postgres-credentials.json'), 'utf8'));
const pool = new pg.Pool({
  host: path.join(dataDir, 'run'),
  user: 'postgres',
  password: creds.superuserPassword,
  database: 'layers',
  max: 10,
});

const INSERT = `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
    received_month, app_id, properties, traits, geo_country, geo_region)
  SELECT u.id, $1, $2, u.event_id, u.type, u.event, u.user_id, u.ts, now(), date_trunc('month', now())::date,
    u.app_id, u.properties, '{}', 'US', 'US-CA'
  FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::jsonb[])
    AS u(id, event_id, type, event, user_id, ts, app_id, properties)
  ON CONFLICT DO NOTHING`;

let waiting: { event: Event; committed: () => void; failed: (e: unknown) => void }[] = [];
let flushing = false;
let stored = 0;

/** One flush at a time; whatever arrives meanwhile rides the next one. */
async function flush(): Promise<void> {
  if (flushing || waiting.length === 0) return;
  flushing = true;
  const items = waiting;
  waiting = [];
  const events = items.map((i) => i.event);
  try {
    await pool.query({
      name: 'durable_floor_insert',
      text: INSERT,
      values: [
        orgId,
        projectId,
        events.map(() => `evt_floor_${++stored}`),
        events.map((e) => e.event_id),
        events.map((e) => e.type),
        events.map((e) => e.event),
        events.map((e) => e.user_id),
        events.map((e) => e.timestamp),
        events.map((e) => e.app_id),
        events.map((e) => JSON.stringify(e.properties)),
      ],
    });
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
  const batch = (req.body as { batch: Event[] }).batch;
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
