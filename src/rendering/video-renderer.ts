import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AdCopy, backgroundSvg, layerSvg, type Palette, textLayers } from './ad-template.ts';
import { svgToRgba, VERTICAL } from './image-renderer.ts';
import { RenderError } from './render-error.ts';
import { renderProcess } from './render-process.ts';

export { RenderError } from './render-error.ts';

/**
 * The vertical video (1080×1920, H.264, 30 fps): the ad's background with its text layers animated
 * over it (the brand and headline slide up and fade in, then the body, then the call to action), made
 * by Debian's `ffmpeg` from four raw RGBA layers that resvg renders (raw, not PNG: ffmpeg loops an
 * image input by decoding it again for every frame, and inflating four 1080×1920 PNGs 30 times a
 * second was two thirds of its CPU; a raw frame is read once and repeated by the `loop` filter).
 * `encodeAdVideo` runs in the render process (render-child.ts), whose low priority ffmpeg inherits
 * as its child; ffmpeg filters and encodes on one thread. `renderAdVideo` is what the API process
 * calls.
 */
export const FFMPEG_INSTALL = 'apt-get install -y ffmpeg';
export const VIDEO_FPS = 30;
export const MIN_VIDEO_MS = 6_000;
export const MAX_VIDEO_MS = 15_000;

/** The ffmpeg binary: Debian's, else the first on PATH; `dirs` is where to look (tests pass their own). */
export async function findFfmpeg(
  dirs: readonly string[] = ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')],
): Promise<string> {
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'ffmpeg');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new RenderError(
    'ffmpeg_missing',
    `Video rendering needs ffmpeg, which is not installed on this machine: run \`${FFMPEG_INSTALL}\` (Debian/Ubuntu) and retry.`,
  );
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-2000);
    });
    child.on('error', (e) =>
      reject(new RenderError('render_failed', `ffmpeg could not start: ${e.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new RenderError(
            'render_failed',
            `ffmpeg exited with ${code}: ${stderr.split('\n').slice(-3).join(' ').slice(0, 300)}`,
          ),
        );
    });
  });
}

export type RenderedVideo = {
  file: string;
  durationMs: number;
  width: number;
  height: number;
  cleanup(): Promise<void>;
};

export type VideoInput = { copy: AdCopy; brand: string; palette: Palette; durationMs: number };

/**
 * Renders the video, by the render process, into a temporary file; the caller streams it to the
 * store, then calls cleanup(). ffmpeg is looked for here, so its absence is `ffmpeg_missing` at once.
 */
export async function renderAdVideo(
  input: VideoInput,
  opts: { ffmpeg?: string } = {},
): Promise<RenderedVideo> {
  const ffmpeg = opts.ffmpeg ?? (await findFfmpeg());
  // Made here, so that it goes even when the render process dies half-way through.
  const dir = await mkdtemp(path.join(tmpdir(), 'layers-video-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    return { ...(await renderProcess().video({ ...input, ffmpeg, dir })), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** In this process (the render process): the raw layers, then ffmpeg, all in `dir`. */
export async function encodeAdVideo(
  input: VideoInput & { ffmpeg: string; dir: string },
): Promise<Omit<RenderedVideo, 'cleanup'>> {
  const { ffmpeg, dir } = input;
  const durationMs = Math.min(
    MAX_VIDEO_MS,
    Math.max(MIN_VIDEO_MS, Math.round(input.durationMs / 1000) * 1000),
  );
  const seconds = durationMs / 1000;
  const t = textLayers(VERTICAL, input.copy, input.brand, input.palette);
  const layers = [
    backgroundSvg(VERTICAL, input.palette),
    layerSvg(VERTICAL, `${t.brand}${t.headline}`),
    layerSvg(VERTICAL, t.body),
    layerSvg(VERTICAL, t.cta),
  ];
  const files: string[] = [];
  for (const [i, svg] of layers.entries()) {
    const file = path.join(dir, `layer-${i}.rgba`);
    await writeFile(file, svgToRgba(svg));
    files.push(file);
  }
  const frames = seconds * VIDEO_FPS;
  // Entrances (seconds) scaled to the duration: headline, body, call to action.
  const at = [0.4, seconds * 0.25, seconds * 0.45].map((s) => s.toFixed(2));
  const inputs = files.flatMap((f) => [
    '-f',
    'rawvideo',
    '-pixel_format',
    'rgba',
    '-video_size',
    `${VERTICAL.width}x${VERTICAL.height}`,
    '-framerate',
    String(VIDEO_FPS),
    '-i',
    f,
  ]);
  // Each layer is one frame, converted once, then repeated to the video's length by `loop`. The text
  // layers are made yuva420p before the loop: overlay blends yuva420p onto the yuv420p background
  // as it is, where an RGBA layer was converted again for every frame (4/5 of the filters' CPU).
  const repeat = `loop=loop=${frames - 1}:size=1`;
  // resvg's pixels are premultiplied; fade and overlay expect straight alpha (the background is opaque).
  const fade = (i: number, st: string) =>
    `[${i}:v]unpremultiply=inplace=1,format=yuva420p,${repeat},fade=t=in:st=${st}:d=0.7:alpha=1[l${i}]`;
  const slide = (st: string) => `'if(lt(t,${st}),80,max(0,80-(t-${st})*160))'`;
  const filter = [
    `[0:v]format=yuv420p,${repeat},fade=t=in:st=0:d=0.4,fade=t=out:st=${(seconds - 0.5).toFixed(2)}:d=0.5[bg]`,
    fade(1, at[0] as string),
    fade(2, at[1] as string),
    fade(3, at[2] as string),
    `[bg][l1]overlay=x=0:y=${slide(at[0] as string)}[v1]`,
    `[v1][l2]overlay=x=0:y=${slide(at[1] as string)}[v2]`,
    `[v2][l3]overlay=x=0:y=${slide(at[2] as string)},format=yuv420p[out]`,
  ].join(';');
  const file = path.join(dir, 'video.mp4');
  await run(ffmpeg, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    // One thread for the filters, as for the encoder: ffmpeg keeps to one core.
    '-filter_complex_threads',
    '1',
    ...inputs,
    '-filter_complex',
    filter,
    '-map',
    '[out]',
    '-r',
    String(VIDEO_FPS),
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'superfast',
    '-crf',
    '23',
    '-threads',
    '1',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-an',
    file,
  ]);
  return { file, durationMs, width: VERTICAL.width, height: VERTICAL.height };
}
