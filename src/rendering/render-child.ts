import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { adImagePng } from './image-renderer.ts';
import { RenderError } from './render-error.ts';
import type { RenderReply, RenderRequest } from './render-process.ts';
import { encodeAdVideo } from './video-renderer.ts';

/**
 * The render process's entry (started by render-process.ts, never by hand): renders what the
 * parent asks over IPC, one request at a time, and answers each with its result or a RenderError's
 * code and message. When the IPC channel closes (the parent exited, however it exited), it takes its
 * process group down with it, ffmpeg included: a render never outlives the process that asked for it.
 */
if (!process.send) throw new Error('render-child.ts runs only as the render process (an IPC child)');
const send = process.send.bind(process);

// This process leads its own session (detached), and on a kernel with autogroups (Linux's default
// for desktop and VM kernels, `kernel.sched_autogroup_enabled`) a new session is a new scheduling
// group whose weight is a nice-0 group's, whatever the policy of the tasks in it: SCHED_IDLE only
// ranks them inside their own group, so the render group would still take a full share of the CPU
// from the API's. Its group's nice, 19, is what puts the group itself last. Raising one's own nice
// needs no privilege; no file (no autogroups, or not Linux) means there is nothing to lower.
try {
  writeFileSync('/proc/self/autogroup', '19');
} catch {}

process.on('disconnect', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } finally {
    process.exit(1);
  }
});

let queue = Promise.resolve();

async function handle(req: RenderRequest): Promise<RenderReply> {
  try {
    if (req.op === 'image') {
      const { format, copy, brand, palette, file } = req.job;
      await writeFile(file, adImagePng(format, copy, brand, palette), { mode: 0o600 });
      return { id: req.id, ok: true, image: file };
    }
    return { id: req.id, ok: true, video: await encodeAdVideo(req.job) };
  } catch (error) {
    if (error instanceof RenderError)
      return { id: req.id, ok: false, code: error.code, message: error.message };
    return {
      id: req.id,
      ok: false,
      code: 'render_failed',
      message: `The render failed: ${(error as Error).message}`.slice(0, 300),
    };
  }
}

process.on('message', (req: RenderRequest) => {
  queue = queue.then(async () => {
    const reply = await handle(req);
    // A parent gone between request and reply: nothing to answer (disconnect ends this process).
    if (process.connected) send(reply);
  });
});
