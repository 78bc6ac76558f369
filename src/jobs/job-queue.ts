import { runMigrations } from 'graphile-worker';
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import { APP_ROLE } from '../db/tenancy-sql.ts';

/**
 * Jobs are enqueued inside the business transaction that causes them (an outbox for free: no job
 * for a change that rolled back, no change without its job). The request path runs as the app role,
 * which gets exactly one capability on the queue: `layers_enqueue_job`, a SECURITY DEFINER wrapper
 * around graphile-worker's add_job — not the queue's tables.
 */
export async function ensureJobQueue(pool: pg.Pool, db: Kysely<unknown>): Promise<void> {
  await runMigrations({ pgPool: pool });
  // Processes starting together (an api and a worker) would replace the same functions at once,
  // which PostgreSQL refuses ("tuple concurrently updated"): one at a time, under a lock.
  await db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('layers:job_queue:enqueue_functions'))`.execute(tx);
    await createEnqueueFunctions(tx);
  });
}

async function createEnqueueFunctions(db: Kysely<unknown>): Promise<void> {
  await createEnqueueFunction(
    db,
    'layers_enqueue_job',
    'p_task text, p_payload json, p_job_key text DEFAULT NULL, p_run_at timestamptz DEFAULT NULL, p_max_attempts int DEFAULT NULL',
    'text, json, text, timestamptz, int',
    'p_task, p_payload, job_key := p_job_key, run_at := p_run_at, max_attempts := p_max_attempts',
  );
  // The same with a named queue: jobs of one queue run one at a time (generation renders use one).
  await createEnqueueFunction(
    db,
    'layers_enqueue_queued_job',
    'p_task text, p_payload json, p_queue_name text, p_job_key text, p_max_attempts int',
    'text, json, text, text, int',
    'p_task, p_payload, queue_name := p_queue_name, job_key := p_job_key, max_attempts := p_max_attempts',
  );
}

/** A SECURITY DEFINER wrapper around add_job that only the app role may execute. */
async function createEnqueueFunction(
  db: Kysely<unknown>,
  name: string,
  params: string,
  signature: string,
  addJobArgs: string,
): Promise<void> {
  await sql
    .raw(`
    CREATE OR REPLACE FUNCTION public.${name}(
      ${params})
    RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
      SELECT FROM graphile_worker.add_job(${addJobArgs})
    $$`)
    .execute(db);
  await sql.raw(`REVOKE ALL ON FUNCTION public.${name}(${signature}) FROM PUBLIC`).execute(db);
  await sql.raw(`GRANT EXECUTE ON FUNCTION public.${name}(${signature}) TO ${APP_ROLE}`).execute(db);
}

export type EnqueueOptions = { jobKey?: string; runAt?: Date; maxAttempts?: number; queueName?: string };

/** Adds a job in the caller's transaction (tenant or system); it runs once that transaction commits. */
// biome-ignore lint/suspicious/noExplicitAny: any schema's connection can enqueue.
export async function enqueueJob(tx: Kysely<any>, task: string, payload: unknown, opts: EnqueueOptions = {}) {
  if (opts.queueName !== undefined) {
    await sql`SELECT layers_enqueue_queued_job(${task}, ${JSON.stringify(payload)}::json, ${opts.queueName}, ${opts.jobKey ?? null}, ${opts.maxAttempts ?? null})`.execute(
      tx,
    );
    return;
  }
  await sql`SELECT layers_enqueue_job(${task}, ${JSON.stringify(payload)}::json, ${opts.jobKey ?? null}, ${opts.runAt ?? null}, ${
    opts.maxAttempts ?? null
  })`.execute(tx);
}

/** Removes the job with this key (graphile-worker's remove_job: one a worker holds is not run again). */
// biome-ignore lint/suspicious/noExplicitAny: any schema's connection can remove its jobs.
export async function removeJob(db: Kysely<any>, jobKey: string): Promise<void> {
  await sql`SELECT graphile_worker.remove_job(${jobKey})`.execute(db);
}
