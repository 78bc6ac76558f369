import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { newId } from '../../src/lib/ids.ts';
import { createMediaSigner } from '../../src/modules/media/media-signing.ts';
import { createMetaPlatform } from '../../src/platforms/meta/meta-platform.ts';
import type {
  PublicationCheckpoint,
  PublishableMedia,
  PublishStep,
  SocialPublisher,
} from '../../src/platforms/publishing-port.ts';
import {
  type CallContext,
  PlatformError,
  type SocialPlatformName,
  type StoredCredentials,
} from '../../src/platforms/social-platform.ts';
import type { MetaFake } from '../fakes/meta/meta-fake.ts';
import type { testGateway } from './egress-harness.ts';
import { callbackUri } from './social-accounts.ts';

const run = promisify(execFile);

/** Real media files made by ffmpeg: an MP4 of `seconds`, or one still frame as PNG / JPEG. */
export async function makeMedia(kind: 'mp4' | 'png' | 'jpg'): Promise<Buffer> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'layers-meta-pub-')), `m.${kind}`);
  const src = kind === 'mp4' ? ['-t', '1', '-pix_fmt', 'yuv420p'] : ['-frames:v', '1'];
  await run('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=320x240:r=25', ...src, file]);
  return readFileSync(file);
}

/**
 * Serves media as the API does: `/media/<id>?exp&sig` signed with the project's signer (403 for a
 * bad or expired signature), so Meta's fake fetches real bytes over HTTP with the signed URL only.
 */
export async function startMediaServer(orgId: string) {
  const signer = createMediaSigner(randomBytes(32));
  const files = new Map<string, { bytes: Buffer; type: string }>();
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const id = /^\/media\/([A-Za-z0-9_]+)$/.exec(u.pathname)?.[1];
    const file = id ? files.get(id) : undefined;
    const verdict =
      id && file
        ? signer.verify(
            id,
            orgId,
            u.searchParams.get('exp') ?? '',
            u.searchParams.get('sig') ?? '',
            new Date(),
          )
        : 'invalid';
    if (verdict !== 'ok' || !file) {
      res.writeHead(403).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.bytes.length }).end(file.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    media(bytes: Buffer, kind: 'video' | 'image', contentType: string, opts: { tamper?: boolean } = {}) {
      const id = newId('media');
      files.set(id, { bytes, type: contentType });
      const m: PublishableMedia = {
        id,
        kind,
        contentType,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        width: 320,
        height: 240,
        durationMs: kind === 'video' ? 1000 : null,
        read: async (start, end) => bytes.subarray(start, end),
        publicUrl: () => {
          const signed = `${base}${signer.sign(id, orgId, new Date()).path}`;
          // Another first character, whatever the signature starts with (a fixed 'A' left one in 64 intact).
          return opts.tamper
            ? signed.replace(/sig=(.)/, (_, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`)
            : signed;
        },
      };
      return m;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A connected Page (or its Instagram account): the real Meta adapter's login against the fake. */
export async function connectMeta(
  fake: MetaFake,
  harness: ReturnType<typeof testGateway>,
  app: { appId: string; appSecret: string },
  ctx: CallContext,
  userId: string,
  platform: SocialPlatformName,
): Promise<StoredCredentials> {
  const meta = createMetaPlatform({ egress: harness.gateway, now: () => new Date(), credentials: app });
  const verifier = 'v'.repeat(64);
  const redirectUri = callbackUri('facebook');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const back = new URL(
    fake.authorize(meta.authorizationUrl({ state: 's', codeChallenge: challenge, redirectUri }), userId),
  );
  const identities = await meta.connect(ctx, {
    code: back.searchParams.get('code') as string,
    codeVerifier: verifier,
    redirectUri,
  });
  const identity = identities.find((i) => i.platform === platform);
  if (!identity) throw new Error(`no ${platform} identity`);
  return {
    platform,
    platformUserId: identity.platformUserId,
    grantUserId: identity.grantUserId,
    accessToken: identity.tokens.accessToken,
    refreshToken: null,
  };
}

export type Run = { steps: PublishStep[]; checkpoints: PublicationCheckpoint[]; last: PublishStep };

/** The job's loop: step, keep the checkpoint, step again, until published (at most `max` steps). */
export async function drive(
  p: SocialPublisher,
  ctx: CallContext,
  creds: StoredCredentials,
  media: PublishableMedia,
  opts: { from?: PublicationCheckpoint; max?: number; caption: string },
): Promise<Run> {
  const steps: PublishStep[] = [];
  const checkpoints: PublicationCheckpoint[] = [opts.from ?? {}];
  for (let i = 0; i < (opts.max ?? 40); i++) {
    const s = await p.step(ctx, creds, {
      publicationId: 'pub_meta_spec',
      media,
      caption: opts.caption,
      privacy: null,
      checkpoint: checkpoints.at(-1) as PublicationCheckpoint,
    });
    steps.push(s);
    checkpoints.push(s.checkpoint);
    if (s.status === 'published') break;
  }
  return { steps, checkpoints, last: steps.at(-1) as PublishStep };
}

/** The PlatformError a promise rejects with (fails the test when it resolves or throws another error). */
export async function failure(promise: Promise<unknown>): Promise<PlatformError> {
  const error = await promise.then(
    () => new Error('expected a PlatformError, the call succeeded'),
    (e: unknown) => e,
  );
  if (!(error instanceof PlatformError)) throw error;
  return error;
}

/** What a checkpoint must never hold: the token, the signed media URL or any URL at all. */
export function leaks(checkpoints: PublicationCheckpoint[], token: string, base: string): string[] {
  const text = JSON.stringify(checkpoints);
  return [token, base, 'sig=', 'http', 'access_token'].filter((s) => text.includes(s));
}

/** A free port on 127.0.0.1 (the app listens there so Meta's fake can fetch its signed media URLs). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
