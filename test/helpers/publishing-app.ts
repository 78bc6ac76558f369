import type { PublisherRegistry } from '../../src/platforms/publishing-registry.ts';
import { startTikTokFake, type TikTokFake } from '../fakes/tiktok/tiktok-fake.ts';
import { mediaDir } from './generation-helpers.ts';
import { callbackUri, followCallback, PUBLIC_URL, startConnect } from './social-accounts.ts';
import { bearer, createOrg, createProject, createTestApp, type TestApp, type TestOrg } from './test-app.ts';

export const TT_KEY = 'tt_pub_client_key';
export const TT_SECRET = 'tt_pub_client_secret_canary';

export type PublishingApp = {
  fake: TikTokFake;
  t: TestApp;
  org: TestOrg;
  projectId: string;
  /** The app's environment (a worker process started for the same database takes it). */
  env: Record<string, string>;
  close(): Promise<void>;
};

/**
 * An app against the TikTok fake (for the connect flow and token refreshes) with the given
 * publishers injected into the container, one org and one project.
 */
export async function startPublishingApp(
  publishers?: PublisherRegistry,
  opts: { env?: Record<string, string>; via?: (fakeUrl: string) => string } = {},
): Promise<PublishingApp> {
  const fake = await startTikTokFake({
    clientKey: TT_KEY,
    clientSecret: TT_SECRET,
    redirectUris: [callbackUri('tiktok')],
  });
  // TikTok's hosts go to the fake, or to what stands in front of it (a crash test's holding proxy).
  const target = opts.via ? opts.via(fake.url) : fake.url;
  const env = {
    TIKTOK_CLIENT_KEY: TT_KEY,
    TIKTOK_CLIENT_SECRET: TT_SECRET,
    LAYERS_PUBLIC_URL: PUBLIC_URL,
    LAYERS_MEDIA_DIR: mediaDir(),
    LAYERS_VIDEO_DURATION_MS: '6000',
    LAYERS_EGRESS_REDIRECT: ['open.tiktokapis.com', 'open-upload.tiktokapis.com']
      .map((h) => `${h}=${target}`)
      .join(','),
    ...opts.env,
  };
  const t = await createTestApp({ env, ...(publishers ? { publishers } : {}) });
  const org = await createOrg(t.app);
  const projectId = (await createProject(t.app, org)).id;
  return {
    fake,
    t,
    org,
    projectId,
    env,
    async close() {
      await t.close();
      await fake.close();
    },
  };
}

/** Connects a TikTok account of `projectId` through the real connect flow. */
export async function connectTikTok(a: PublishingApp, openId: string, projectId = a.projectId) {
  const back = await followCallback(
    a.t,
    a.fake.authorize(await startConnect(a.t, a.org, projectId, 'tiktok'), openId),
  );
  const id = back.location?.searchParams.get('social_account_ids');
  if (!id) throw new Error(`connect failed: ${back.status} ${back.body}`);
  return id;
}

/** A generated media of the project (a real generation), of the kind asked for. */
export async function generateMedia(a: PublishingApp, kind: 'video' | 'image', projectId = a.projectId) {
  const res = await a.t.app.inject({
    method: 'POST',
    url: `/v1/projects/${projectId}/generations`,
    headers: bearer(a.org.secret),
    payload: { brief: { product: 'Acme Cold Brew', tone: 'bold' }, outputs: ['copy', kind] },
  });
  if (res.statusCode !== 202) throw new Error(`generation: ${res.statusCode} ${res.body}`);
  await a.t.container.generations.run(a.org.id, res.json().id, 1);
  const { rows } = await a.t.db.systemPool.query(
    'SELECT id FROM media_assets WHERE generation_id = $1 AND kind = $2',
    [res.json().id, kind],
  );
  if (!rows[0]) throw new Error(`no ${kind} generated`);
  return rows[0].id as string;
}

export async function publish(
  a: PublishingApp,
  accountId: string,
  body: object,
  headers: Record<string, string> = {},
) {
  return a.t.app.inject({
    method: 'POST',
    url: `/v1/social-accounts/${accountId}/publications`,
    headers: { ...bearer(a.org.secret), ...headers },
    payload: body,
  });
}

export async function getPublication(a: PublishingApp, id: string) {
  return (
    await a.t.app.inject({ method: 'GET', url: `/v1/publications/${id}`, headers: bearer(a.org.secret) })
  ).json();
}

/**
 * A wait ends a run with next_step_at (and the per-token budget may hold the next step until its
 * window reopens): the tests that are not about waits do not sit through them.
 */
export async function clearWaits(a: PublishingApp, id: string) {
  await a.t.db.systemPool.query('UPDATE publications SET next_step_at = NULL WHERE id = $1', [id]);
  await a.t.db.systemPool.query('DELETE FROM publishing_budget WHERE org_id = $1', [a.org.id]);
}

/** Runs the job's work in this process until the publication is published or failed. */
export async function runUntilSettled(a: PublishingApp, id: string, maxRuns = 40) {
  for (let i = 0; i < maxRuns; i++) {
    const p = await getPublication(a, id);
    if (p.status === 'published' || p.status === 'failed') return p;
    await clearWaits(a, id);
    await a.t.container.publishing.runner.run(a.org.id, id);
  }
  return getPublication(a, id);
}
