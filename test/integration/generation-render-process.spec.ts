import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderProcess } from '../../src/rendering/render-process.ts';
import { getJson, mediaDir, startGeneration } from '../helpers/generation-helpers.ts';
import { processesInGroup, until } from '../helpers/render-process-helpers.ts';
import { createOrg, createProject, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * Generations render in this process's render process (src/rendering/render-process.ts): when it
 * dies in the middle of a generation's video, the generation fails with `render_failed` (it does not
 * hang), and the next generation renders in a new render process.
 */
describe('generations and the render process', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { LAYERS_MEDIA_DIR: mediaDir() } });
    org = await createOrg(t.app, 'Render');
    projectId = (await createProject(t.app, org)).id;
  });
  afterAll(() => t.close());

  it('a render process killed mid-video fails the generation with render_failed; the next one succeeds', async () => {
    const first = (await startGeneration(t, org, projectId)).json().id;
    const run = t.container.generations.run(org.id, first, 1);
    const pid = await until(
      () => {
        const p = renderProcess().pid;
        return p !== undefined && processesInGroup(p).some((m) => m.comm === 'ffmpeg') ? p : undefined;
      },
      240_000,
      'the video render',
    );
    process.kill(pid, 'SIGKILL');
    expect(await run).toBe('failed');
    const failed = (await getJson(t, org, `/v1/generations/${first}`)).body;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'render_failed' }, media_ids: [] });
    expect(failed.error.message).toContain('render process stopped');

    const second = (await startGeneration(t, org, projectId)).json().id;
    expect(await t.container.generations.run(org.id, second, 1)).toBe('succeeded');
    expect((await getJson(t, org, `/v1/generations/${second}`)).body.media_ids).toHaveLength(3);
    expect(renderProcess().pid).not.toBe(pid);
  }, 420_000);
});
