import { startTikTokFake } from '../fakes/tiktok/tiktok-fake.ts';
import type { VendorFakeServer } from '../fakes/vendor-fake-server.ts';
import { callbackUri, PUBLIC_URL } from './social-accounts.ts';
import { createOrg, createProject, createTestApp, type TestApp, type TestOrg } from './test-app.ts';

export type SocialApp<F extends VendorFakeServer> = { fake: F; t: TestApp; org: TestOrg; projectId: string };

/**
 * An app against a started vendor fake: the vendor's app credentials in `env`, the public URL of
 * the callbacks, the vendor's `hosts` redirected to the fake; with one org and one project.
 */
export async function startSocialApp<F extends VendorFakeServer>(
  fake: F,
  hosts: string[],
  env: Record<string, string>,
): Promise<SocialApp<F>> {
  const t = await createTestApp({
    env: {
      ...env,
      LAYERS_PUBLIC_URL: PUBLIC_URL,
      LAYERS_EGRESS_REDIRECT: hosts.map((h) => `${h}=${fake.url}`).join(','),
    },
  });
  const org = await createOrg(t.app);
  const projectId = (await createProject(t.app, org)).id;
  return { fake, t, org, projectId };
}

/** The TikTok fake (our callback registered) and an app with that client key and secret. */
export async function startTikTokApp(clientKey: string, clientSecret: string) {
  return startSocialApp(
    await startTikTokFake({ clientKey, clientSecret, redirectUris: [callbackUri('tiktok')] }),
    ['open.tiktokapis.com'],
    { TIKTOK_CLIENT_KEY: clientKey, TIKTOK_CLIENT_SECRET: clientSecret },
  );
}

export async function closeSocialApp(t: TestApp, fake: VendorFakeServer): Promise<void> {
  await t.close();
  await fake.close();
}
