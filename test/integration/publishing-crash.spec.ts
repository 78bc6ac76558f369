import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TikTokPublishingFake, useTikTokPublishing } from '../fakes/tiktok/tiktok-publishing-fake.ts';
import { databaseUrl, MAIN, REPO_ROOT } from '../helpers/cli.ts';
import {
  connectTikTok,
  generateMedia,
  getPublication,
  type PublishingApp,
  publish,
  startPublishingApp,
} from '../helpers/publishing-app.ts';
import { exitOf } from '../helpers/server-process.ts';
import { bearer } from '../helpers/test-app.ts';

/**
 * A `layers worker` OS process publishing to TikTok (the real publisher, the TikTok publishing fake)
 * is killed with SIGKILL at every state of the publication: before each vendor call is sent (the
 * previous step stored) and after each call took effect at TikTok but before its answer reached the
 * worker (so the checkpoint never learns it). A proxy on 127.0.0.1 between the egress gateway and
 * the fake holds the chosen request or its answer. Each restart resumes from the stored checkpoint;
 * at the end TikTok has exactly one post and the publication is published with it.
 */
type Hold = { method: string; path: string; when: 'before' | 'after' };

function startHoldingProxy() {
  let target = '';
  let hold: Hold | null = null;
  let held = 0;
  const pending: ServerResponse[] = [];
  const matches = (req: IncomingMessage) =>
    hold !== null && req.method === hold.method && (req.url ?? '').split('?')[0] === hold.path;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = matches(req) ? hold : null;
      if (hit?.when === 'before') {
        held++;
        pending.push(res);
        return;
      }
      const u = new URL(req.url ?? '/', target);
      const out = request(u, { method: req.method, headers: { ...req.headers, host: u.host } }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          if (hit) {
            // The call took effect at the fake; its answer never reaches the worker.
            held++;
            pending.push(res);
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(body));
        });
      });
      out.on('error', () => res.destroy());
      out.end(Buffer.concat(chunks));
    });
    res.on('error', () => undefined);
  });
  return {
    async listen(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    setTarget: (url: string) => {
      target = url;
    },
    arm: (h: Hold | null) => {
      hold = h;
      held = 0;
    },
    held: () => held,
    release() {
      for (const r of pending.splice(0)) r.destroy();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('publications survive kill -9 of the worker at every state', () => {
  const proxy = startHoldingProxy();
  let a: PublishingApp;
  let tt: TikTokPublishingFake;
  let worker: ChildProcess | undefined;
  let accountId: string;
  let videoId: string;

  beforeAll(async () => {
    const proxyUrl = await proxy.listen();
    a = await startPublishingApp(undefined, {
      env: { LAYERS_JOB_WATCHDOG_MS: '1000' },
      via: (fakeUrl) => {
        proxy.setTarget(fakeUrl);
        return proxyUrl;
      },
    });
    tt = useTikTokPublishing(a.fake);
    tt.control.processingPolls = 2;
    accountId = await connectTikTok(a, 'open_pub_crash');
    videoId = await generateMedia(a, 'video');
  }, 120_000);
  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await exitOf(worker);
    }
    proxy.release();
    await proxy.close();
    await a.close();
  });

  const start = () =>
    spawn(process.execPath, [MAIN, 'worker'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl(a.t.db.superuser),
        LAYERS_ENCRYPTION_KEY: a.t.config.encryptionKey as string,
        LOG_LEVEL: 'warn',
        ...a.env,
      },
      stdio: 'ignore',
    });

  async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000) {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a kill before and after every TikTok call leaves exactly one post', async () => {
    const res = await publish(a, accountId, {
      media_id: videoId,
      caption: 'Crash-proof #coldbrew',
      privacy: 'PUBLIC_TO_EVERYONE',
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const stored = async () =>
      (await a.t.db.systemPool.query('SELECT status, checkpoint FROM publications WHERE id = $1', [id]))
        .rows[0];

    const calls = [
      { method: 'POST', path: '/v2/post/publish/creator_info/query/' },
      { method: 'POST', path: '/v2/post/publish/video/init/' },
      { method: 'PUT', path: '/video/' },
      { method: 'POST', path: '/v2/post/publish/status/fetch/' },
    ];
    const kills: string[] = [];
    const statuses = new Set<string>();
    for (const call of calls)
      for (const when of ['before', 'after'] as const) {
        proxy.arm({ ...call, when });
        worker = start();
        await until(`${when} ${call.path}`, () => proxy.held() > 0);
        statuses.add((await stored()).status);
        worker.kill('SIGKILL');
        await exitOf(worker);
        proxy.release();
        kills.push(`${when} ${call.path}`);
        expect((await getPublication(a, id)).status).not.toMatch(/published|failed/);
      }
    expect(kills).toHaveLength(8);
    // The kills saw the publication queued (nothing stored), uploading and processing.
    expect([...statuses].sort()).toEqual(['processing', 'queued', 'uploading']);

    proxy.arm(null);
    worker = start();
    await until('published', async () => (await getPublication(a, id)).status === 'published');
    worker.kill('SIGTERM');
    await exitOf(worker);

    const mine = tt.posts.filter((p) => p.openId === 'open_pub_crash');
    expect(mine).toHaveLength(1);
    const done = await getPublication(a, id);
    expect(done.platform_post_id).toBe(mine[0]?.postId);
    const posts = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}/posts`,
      headers: bearer(a.org.secret),
    });
    expect(posts.json().data.map((p: { platform_post_id: string }) => p.platform_post_id)).toContain(
      mine[0]?.postId,
    );
    const { rows } = await a.t.db.systemPool.query(
      `SELECT type FROM webhook_events WHERE org_id = $1 AND data->>'id' = $2`,
      [a.org.id, id],
    );
    expect(rows.map((r) => r.type)).toEqual(['publication.published']);
  }, 300_000);
});
