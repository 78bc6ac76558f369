import { type MetaFake, startMetaFake } from '../fakes/meta/meta-fake.ts';
import { type MetaPublishingFake, useMetaPublishing } from '../fakes/meta/meta-publishing-fake.ts';
import { mediaDir } from './generation-helpers.ts';
import { freePort } from './meta-publishing.ts';
import type { PublishingApp } from './publishing-app.ts';
import { followCallback, startConnect } from './social-accounts.ts';
import { createOrg, createProject, createTestApp } from './test-app.ts';

const APP = { appId: 'meta_e2e_app', appSecret: 'meta_e2e_secret_canary' };

export type MetaPublishingApp = { a: PublishingApp; fake: MetaFake; pub: MetaPublishingFake };

/**
 * The real app, listening on 127.0.0.1 with LAYERS_PUBLIC_URL pointing at itself (Meta's fake fetches
 * the signed media URLs from it), against the Meta fake with its publishing extension: the app's
 * own publishers, through its own egress gateway (LAYERS_EGRESS_REDIRECT to the fake).
 */
export async function startMetaPublishingApp(): Promise<MetaPublishingApp> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const fake = await startMetaFake({
    ...APP,
    redirectUris: ['instagram', 'facebook'].map((p) => `${base}/v1/oauth/callback/${p}`),
  });
  const pub = useMetaPublishing(fake);
  const t = await createTestApp({
    env: {
      META_APP_ID: APP.appId,
      META_APP_SECRET: APP.appSecret,
      LAYERS_PUBLIC_URL: base,
      LAYERS_MEDIA_DIR: mediaDir(),
      LAYERS_VIDEO_DURATION_MS: '6000',
      LAYERS_EGRESS_REDIRECT: `graph.facebook.com=${fake.url}`,
    },
  });
  await t.app.listen({ port, host: '127.0.0.1' });
  const org = await createOrg(t.app);
  const projectId = (await createProject(t.app, org)).id;
  // The publishing helpers read t, org and projectId only; the TikTok fake is not part of this app.
  const a = {
    t,
    org,
    projectId,
    async close() {
      await t.close();
      await fake.close();
    },
  } as unknown as PublishingApp;
  return { a, fake, pub };
}

/** Connects the Meta user's Pages and Instagram accounts; answers the account id of `platform`. */
export async function connectMetaAccount(
  m: MetaPublishingApp,
  userId: string,
  platform: 'instagram' | 'facebook',
): Promise<string> {
  const { a, fake } = m;
  const back = await followCallback(
    a.t,
    fake.authorize(await startConnect(a.t, a.org, a.projectId, platform), userId),
  );
  const ids = back.location?.searchParams.get('social_account_ids')?.split(',') ?? [];
  for (const id of ids) {
    const res = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${id}`,
      headers: { authorization: `Bearer ${a.org.secret}` },
    });
    if (res.json().platform === platform) return id;
  }
  throw new Error(`connect failed: ${back.status} ${back.body}`);
}
