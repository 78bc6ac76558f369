import type { Config } from '../config.ts';
import type { EgressGateway } from '../egress/egress-gateway.ts';
import { createGooglePlatform } from './google/google-platform.ts';
import { createMetaPlatform } from './meta/meta-platform.ts';
import type { SocialPlatform, SocialPlatformName } from './social-platform.ts';
import { createTikTokPlatform } from './tiktok/tiktok-platform.ts';

/** The adapters, by the API's platform names (instagram and facebook share Meta's). */
export type PlatformRegistry = {
  adapters: readonly SocialPlatform[];
  forPlatform(platform: SocialPlatformName): SocialPlatform;
};

export function createPlatformRegistry(deps: {
  config: Config;
  egress: EgressGateway;
  now: () => Date;
}): PlatformRegistry {
  const { config, egress, now } = deps;
  const adapters = [
    createTikTokPlatform({ egress, now, credentials: config.social.tiktok }),
    createMetaPlatform({ egress, now, credentials: config.social.meta }),
    createGooglePlatform({ egress, now, credentials: config.social.google }),
  ];
  const byPlatform = new Map<SocialPlatformName, SocialPlatform>();
  for (const a of adapters) for (const p of a.platforms) byPlatform.set(p, a);
  return {
    adapters,
    forPlatform(platform) {
      const adapter = byPlatform.get(platform);
      if (!adapter) throw new Error(`no adapter for ${platform}`);
      return adapter;
    },
  };
}
