import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { bearer, type TestApp, type TestOrg } from './test-app.ts';

const run = promisify(execFile);

export const BRIEF = {
  product: 'Acme Cold Brew',
  audience: 'busy commuters',
  tone: 'bold',
  call_to_action: 'Shop now',
  language: 'en',
};

export const mediaDir = () => mkdtempSync(path.join(tmpdir(), 'layers-media-test-'));

export async function startGeneration(
  t: TestApp,
  org: TestOrg,
  projectId: string,
  body: object = { brief: BRIEF },
) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/projects/${projectId}/generations`,
    headers: bearer(org.secret),
    payload: body,
  });
  return res;
}

export async function getJson(t: TestApp, org: TestOrg, url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: bearer(org.secret) });
  return { status: res.statusCode, body: res.json() };
}

/** Decodes a PNG fully (IHDR, then every IDAT inflated) and returns its size; throws on a broken file. */
export function decodePng(buf: Buffer): { width: number; height: number } {
  if (!buf.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])))
    throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let bitDepth = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const len = buf.readUInt32BE(offset);
    const type = buf.toString('ascii', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8] as number;
      colorType = data[9] as number;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + len;
  }
  const channels = { 2: 3, 6: 4, 0: 1, 4: 2 }[colorType] ?? 0;
  const raw = inflateSync(Buffer.concat(idat));
  if (bitDepth !== 8 || raw.length !== height * (1 + width * channels))
    throw new Error('PNG data does not match its header');
  return { width, height };
}

export async function ffprobe(buf: Buffer) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'layers-probe-')), 'v.mp4');
  writeFileSync(file, buf);
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_name,width,height,duration,pix_fmt',
    '-show_entries',
    'format=duration',
    '-of',
    'json',
    file,
  ]);
  const j = JSON.parse(stdout) as {
    streams: { codec_name: string; width: number; height: number; duration: string }[];
    format: { duration: string };
  };
  return {
    ...(j.streams[0] as { codec_name: string; width: number; height: number; duration: string }),
    formatDuration: Number(j.format.duration),
  };
}

/** The bytes behind a media object's signed URL (through the app, without a key). */
export async function fetchSigned(t: TestApp, url: string) {
  const u = new URL(url);
  return t.app.inject({ method: 'GET', url: `${u.pathname}${u.search}` });
}
