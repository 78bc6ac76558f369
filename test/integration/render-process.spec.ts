import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paletteFor } from '../../src/rendering/ad-template.ts';
import { SQUARE, VERTICAL } from '../../src/rendering/image-renderer.ts';
import { RenderError } from '../../src/rendering/render-error.ts';
import { createRenderProcess, lowPriorityLauncher } from '../../src/rendering/render-process.ts';
import { findFfmpeg } from '../../src/rendering/video-renderer.ts';
import { decodePng, ffprobe } from '../helpers/generation-helpers.ts';
import {
  autogroupNice,
  isWholeMp4,
  processesInGroup,
  SCHED_IDLE,
  until,
} from '../helpers/render-process-helpers.ts';

/**
 * The render process (src/rendering/render-process.ts): one low-priority child that renders PNGs and
 * runs ffmpeg for this process, restarted after a death, and never left behind by its parent.
 */
const COPY = {
  headline: 'Acme Cold Brew. No compromises.',
  body: 'Made for busy commuters.',
  call_to_action: 'Shop now',
};
const palette = paletteFor('Acme Cold Brew\nbold');
// A render at the lowest priority takes as long as the machine's other work lets it (shared CI).
const RENDER_TIMEOUT_MS = 300_000;

describe('the render process', { timeout: RENDER_TIMEOUT_MS }, () => {
  const renderer = createRenderProcess();
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'layers-render-test-'));
    dirs.push(dir);
    return dir;
  };
  const videoJob = async (durationMs: number) => ({
    copy: COPY,
    brand: 'Acme',
    palette,
    durationMs,
    ffmpeg: await findFfmpeg(),
    dir: await tempDir(),
  });
  /** An image job whose PNG the render process writes into a new temporary directory. */
  const imageJob = async (format = SQUARE) => ({
    format,
    copy: COPY,
    brand: 'Acme',
    palette,
    file: path.join(await tempDir(), 'ad.png'),
  });
  /** The ffmpeg of the render process `pgid`, once it runs. */
  const ffmpegOf = (pgid: number) =>
    until(() => processesInGroup(pgid).find((p) => p.comm === 'ffmpeg'), 240_000, 'ffmpeg to start');
  /** Until the process group `pgid` has no live process left. */
  const groupGone = (pgid: number) =>
    until(() => (processesInGroup(pgid).length === 0 ? true : undefined), 60_000, 'the group to exit');

  afterAll(async () => {
    await renderer.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }, RENDER_TIMEOUT_MS);

  it('writes PNGs that decode to the asked size into the asked file, and answers only its path', async () => {
    for (const format of [SQUARE, VERTICAL]) {
      const job = await imageJob(format);
      expect(await renderer.image(job)).toBe(job.file);
      expect(decodePng(await readFile(job.file))).toEqual(format);
    }
  });

  it('renders an MP4 that ffprobe reads as H.264, 1080×1920, of the asked duration', async () => {
    const video = await renderer.video(await videoJob(6_000));
    expect(video).toMatchObject({ width: 1080, height: 1920, durationMs: 6_000 });
    expect(await isWholeMp4(video.file)).toBe(true);
    const probe = await ffprobe(await readFile(video.file));
    expect(probe.codec_name).toBe('h264');
    expect([probe.width, probe.height]).toEqual([1080, 1920]);
    expect(probe.formatDuration).toBeCloseTo(6, 0);
  });

  it('is one process, reused, at SCHED_IDLE in a nice-19 scheduling group, and so is its ffmpeg', async () => {
    expect(await lowPriorityLauncher()).toEqual([expect.stringMatching(/\/chrt$/), '--idle', '0']);
    const pid = renderer.pid as number;
    expect(pid).toBeGreaterThan(0);
    await renderer.image(await imageJob());
    expect(renderer.pid).toBe(pid);
    expect(processesInGroup(pid).find((p) => p.pid === pid)?.policy).toBe(SCHED_IDLE);
    const video = renderer.video(await videoJob(6_000));
    try {
      const ffmpeg = await ffmpegOf(pid);
      expect(ffmpeg.policy).toBe(SCHED_IDLE);
      // Its own session is its own autogroup where the kernel schedules this process by autogroups:
      // that group is at nice 19, or SCHED_IDLE would rank it only inside the group and the group
      // would take a full share. Where the kernel keeps us out of them, a group it has must still be 19.
      const expected = autogroupNice(process.pid) === undefined ? [undefined, 19] : [19];
      expect(expected).toContain(autogroupNice(pid));
      expect(expected).toContain(autogroupNice(ffmpeg.pid));
    } finally {
      await video;
    }
    expect(renderer.pid).toBe(pid);
  });

  it('falls back to nice 19 where SCHED_IDLE is not available', async () => {
    const niced = createRenderProcess({ launcher: async () => ['nice', '-n', '19'] });
    try {
      await niced.image(await imageJob());
      const pid = niced.pid as number;
      expect(processesInGroup(pid).find((p) => p.pid === pid)?.nice).toBe(19);
    } finally {
      await niced.stop();
    }
  });

  it('a death mid-render fails the render with render_failed, kills its ffmpeg, and the next render restarts it', async () => {
    const job = await videoJob(15_000);
    const failure = renderer.video(job).catch((e: unknown) => e);
    const pid = renderer.pid as number;
    await ffmpegOf(pid);
    process.kill(pid, 'SIGKILL');
    const error = await failure;
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).code).toBe('render_failed');
    expect((error as RenderError).message).toContain('SIGKILL');
    // ffmpeg went with it: killed, not left to finish its video.
    await groupGone(pid);
    expect(await isWholeMp4(path.join(job.dir, 'video.mp4'))).toBe(false);
    const after = await imageJob();
    await renderer.image(after);
    expect(decodePng(await readFile(after.file))).toEqual(SQUARE);
    expect(renderer.pid).not.toBe(pid);
  });

  it('a render that fails in the render process answers its error code (a failing ffmpeg: render_failed)', async () => {
    const error = await renderer
      .video({ ...(await videoJob(6_000)), ffmpeg: '/bin/false' })
      .catch((e: unknown) => e);
    expect((error as RenderError).code).toBe('render_failed');
    expect((error as RenderError).message).toContain('ffmpeg exited with 1');
  });

  it('stop() ends the render process and its ffmpeg', async () => {
    const job = await videoJob(15_000);
    const video = renderer.video(job).catch((e: unknown) => e);
    const pid = renderer.pid as number;
    await ffmpegOf(pid);
    await renderer.stop();
    expect(await video).toBeInstanceOf(RenderError);
    await groupGone(pid);
    expect(await isWholeMp4(path.join(job.dir, 'video.mp4'))).toBe(false);
  });

  it('leaves no process behind when its parent is killed with SIGKILL mid-render', async () => {
    const dir = await tempDir();
    const parent = spawn(
      process.execPath,
      [path.join(import.meta.dirname, '..', 'helpers', 'render-parent-process.ts'), dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    parent.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    const pid = await until(() => (out.includes('\n') ? Number(out.trim()) : undefined), 60_000, 'the pid');
    await ffmpegOf(pid);
    parent.kill('SIGKILL');
    await groupGone(pid);
    expect(await isWholeMp4(path.join(dir, 'video.mp4'))).toBe(false);
  });
});
