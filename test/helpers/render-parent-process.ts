import { paletteFor } from '../../src/rendering/ad-template.ts';
import { createRenderProcess } from '../../src/rendering/render-process.ts';
import { findFfmpeg } from '../../src/rendering/video-renderer.ts';

/**
 * A process that starts a video render and then waits forever: render-process.spec.ts kills it with
 * SIGKILL and checks that its render process and ffmpeg go too. Renders into argv[2] (the test's
 * directory); prints the render process's pid.
 */
const renderer = createRenderProcess();
const video = renderer.video({
  copy: { headline: 'Orphans', body: 'none left behind', call_to_action: 'Check' },
  brand: 'Parent',
  palette: paletteFor('parent'),
  durationMs: 15_000,
  ffmpeg: await findFfmpeg(),
  dir: process.argv[2] as string,
});
for (let i = 0; i < 500 && renderer.pid === undefined; i++) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(`${renderer.pid}\n`);
await video;
setInterval(() => undefined, 60_000);
