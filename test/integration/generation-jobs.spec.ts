import type { Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logging.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { GenerationError } from '../../src/modules/generation/provider-port.ts';
import type { LlmFake } from '../fakes/llm-fake-common.ts';
import { startOpenAiFake } from '../fakes/openai/openai-fake.ts';
import { BRIEF, getJson, mediaDir, startGeneration } from '../helpers/generation-helpers.ts';
import { createOrg, createProject, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * Generations as jobs: enqueued in the request's transaction with the configured attempts, run by a
 * real graphile-worker, and retried: a retryable vendor failure goes back to `queued` and is rethrown
 * (the queue retries) until the last attempt, which records `failed`.
 */
describe('generation jobs', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  let openai: LlmFake;
  let runner: Runner | undefined;

  beforeAll(async () => {
    openai = await startOpenAiFake();
    t = await createTestApp({
      env: {
        LAYERS_MEDIA_DIR: mediaDir(),
        OPENAI_API_KEY: 'sk-test-openai',
        LAYERS_GENERATION_MAX_ATTEMPTS: '2',
        LAYERS_EGRESS_REDIRECT: `api.openai.com=${openai.url}`,
      },
    });
    org = await createOrg(t.app, 'Jobs');
    projectId = (await createProject(t.app, org)).id;
  });
  afterAll(async () => {
    await runner?.stop();
    await t.close();
    await openai.close();
  });

  it('enqueues generation.run in the request transaction, in its own queue, with the configured attempts', async () => {
    const res = await startGeneration(t, org, projectId, { brief: BRIEF, outputs: ['copy'] });
    const id = res.json().id;
    const jobs = await t.db.systemPool.query(
      `SELECT t.identifier AS task_identifier, j.max_attempts, j.payload, q.queue_name FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks t ON t.id = j.task_id
       LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id WHERE j.key = 'generation:' || $1`,
      [id],
    );
    expect(jobs.rows).toEqual([
      {
        task_identifier: 'generation.run',
        max_attempts: 2,
        payload: { org_id: org.id, generation_id: id },
        queue_name: 'generation',
      },
    ]);
  });

  it('a retryable failure is re-queued and rethrown until the last attempt, which fails for good', async () => {
    openai.fail('rate_limit');
    const id = (
      await startGeneration(t, org, projectId, { brief: BRIEF, provider: 'openai', outputs: ['copy'] })
    ).json().id;
    await expect(t.container.generations.run(org.id, id, 1)).rejects.toBeInstanceOf(GenerationError);
    let g = (await getJson(t, org, `/v1/generations/${id}`)).body;
    expect(g).toMatchObject({ status: 'queued', attempts: 1 });
    expect(g.error).toBeUndefined();
    expect(await t.container.generations.run(org.id, id, 2)).toBe('failed');
    g = (await getJson(t, org, `/v1/generations/${id}`)).body;
    expect(g).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'vendor_rate_limited' } });
    // A finished generation is not run again.
    expect(await t.container.generations.run(org.id, id, 3)).toBe('failed');
    openai.fail('none');
  });

  it('a real worker runs a queued generation to succeeded', async () => {
    runner = await startWorker({
      container: t.container,
      logger: createLogger({ level: 'silent' }),
      concurrency: 1,
    });
    const id = (await startGeneration(t, org, projectId, { brief: BRIEF, outputs: ['copy', 'image'] })).json()
      .id;
    let g: { status: string; media_ids: string[] } = { status: 'queued', media_ids: [] };
    for (let i = 0; i < 500 && !['succeeded', 'failed'].includes(g.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      g = (await getJson(t, org, `/v1/generations/${id}`)).body;
    }
    expect(g.status).toBe('succeeded');
    expect(g.media_ids).toHaveLength(2);
  }, 60_000);
});
