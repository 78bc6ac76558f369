import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { AdCopy, AdFormat, Palette } from './ad-template.ts';
import { RenderError, type RenderErrorCode } from './render-error.ts';

/**
 * The render process: one Node child per process that renders (the worker of `layers serve` or
 * `layers worker`), started on the first render and reused, that does all the CPU work of a
 * generation: resvg's rasterisation and PNG encode, and ffmpeg (its child). It runs at the lowest CPU
 * priority there is, SCHED_IDLE (`chrt --idle 0`, util-linux), else nice 19 (`nice`, coreutils), else
 * plain, and its session's scheduling group (its autogroup, render-child.ts) at nice 19: it gets the
 * CPU the API leaves, and the API's event loop never waits for a render.
 *
 * It talks over Node's IPC channel (advanced serialisation); images and videos are written to files
 * by the render process itself, and only their paths come back, so no PNG crosses the channel or is
 * written by the API process. When it dies (killed, out of memory), the renders in flight fail with
 * `render_failed` and the next render starts a new one. It leads its own process group (ffmpeg is in it), so that a death also takes its
 * ffmpeg, and it exits with that group when the IPC channel closes: when this process exits, however
 * it exits (kill -9 included), nothing of the render is left running. It never keeps this process
 * alive on its own (unref'd while idle).
 */
export const RENDER_CHILD = path.join(import.meta.dirname, 'render-child.ts');

/** `file`: where the render process writes the PNG (the API process gets only its path back). */
export type ImageJob = { format: AdFormat; copy: AdCopy; brand: string; palette: Palette; file: string };
export type VideoJob = {
  copy: AdCopy;
  brand: string;
  palette: Palette;
  durationMs: number;
  ffmpeg: string;
  dir: string;
};
export type VideoResult = { file: string; durationMs: number; width: number; height: number };

export type RenderRequest = { id: number } & (
  | { op: 'image'; job: ImageJob }
  | { op: 'video'; job: VideoJob }
);
export type RenderReply =
  | { id: number; ok: true; image?: string; video?: VideoResult }
  | { id: number; ok: false; code: RenderErrorCode; message: string };

type Pending = { resolve(r: RenderReply): void; reject(e: Error): void };

/** The first executable `name` on PATH (or in the usual system directories), else undefined. */
function which(name: string): string | undefined {
  const dirs = ['/usr/bin', '/bin', ...(process.env.PATH ?? '').split(':')];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {}
  }
  return undefined;
}

/** Whether `command true` exits 0 (a seccomp profile or a missing binary make a launcher unusable). */
function works(command: string[]): Promise<boolean> {
  const [bin, ...args] = command as [string, ...string[]];
  return new Promise((resolve) => execFile(bin, [...args, 'true'], (error) => resolve(!error)));
}

/** The lowest-priority launcher this machine has: SCHED_IDLE, else nice 19, else none. */
export async function lowPriorityLauncher(): Promise<string[]> {
  const chrt = which('chrt');
  if (chrt && (await works([chrt, '--idle', '0']))) return [chrt, '--idle', '0'];
  const nice = which('nice');
  if (nice && (await works([nice, '-n', '19']))) return [nice, '-n', '19'];
  return [];
}

export function createRenderProcess(opts: { launcher?: () => Promise<string[]> } = {}) {
  const launcherOf = opts.launcher ?? lowPriorityLauncher;
  let launcher: Promise<string[]> | undefined;
  let child: ChildProcess | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  /** The whole group: the render process and its ffmpeg (no error when it is gone already). */
  const killGroup = (c: ChildProcess) => {
    if (c.pid === undefined) return;
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {}
  };

  const died = (c: ChildProcess, how: string) => {
    if (child !== c) return;
    child = undefined;
    killGroup(c);
    const error = new RenderError(
      'render_failed',
      `The render process stopped (${how}) during the render; the next render starts a new one.`,
    );
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  async function start(): Promise<ChildProcess> {
    launcher ??= launcherOf();
    const [bin = process.execPath, ...args] = [...(await launcher), process.execPath, RENDER_CHILD];
    if (child) return child;
    const c = spawn(bin, args, {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      // Its own process group, which ffmpeg joins: one signal takes both.
      detached: true,
    });
    child = c;
    c.on('message', (reply: RenderReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) c.channel?.unref();
      p.resolve(reply);
    });
    c.on('error', (e) => died(c, `could not start: ${e.message}`));
    c.on('exit', (code, signal) => died(c, signal ? `signal ${signal}` : `exit code ${code}`));
    c.unref();
    c.channel?.unref();
    return c;
  }

  async function request(req: Omit<RenderRequest, 'id'>): Promise<RenderReply> {
    const c = child ?? (await start());
    const id = nextId++;
    const reply = await new Promise<RenderReply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      // Held while a render is in flight, so that its answer is awaited.
      c.channel?.ref();
      c.send({ id, ...req } as RenderRequest, (error) => {
        if (error) died(c, `IPC failed: ${error.message}`);
      });
    });
    if (!reply.ok) throw new RenderError(reply.code, reply.message);
    return reply;
  }

  return {
    /** Renders the PNG into `job.file`; resolves with that path once it is written. */
    async image(job: ImageJob): Promise<string> {
      const reply = await request({ op: 'image', job });
      const file = reply.ok ? reply.image : undefined;
      if (!file) throw new RenderError('render_failed', 'The render process answered without a PNG.');
      return file;
    },
    async video(job: VideoJob): Promise<VideoResult> {
      const reply = await request({ op: 'video', job });
      const video = reply.ok ? reply.video : undefined;
      if (!video) throw new RenderError('render_failed', 'The render process answered without a video.');
      return video;
    },
    /** The render process's pid (its process group's id), while it runs. */
    get pid(): number | undefined {
      return child?.pid;
    },
    /** Kills the render process and its ffmpeg; renders in flight fail, the next one starts it again. */
    async stop(): Promise<void> {
      const c = child;
      if (!c) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      killGroup(c);
      await exited;
    },
  };
}

export type RenderProcess = ReturnType<typeof createRenderProcess>;

let shared: RenderProcess | undefined;

/** This process's render process (one per process, made on first use). */
export function renderProcess(): RenderProcess {
  shared ??= createRenderProcess();
  return shared;
}
