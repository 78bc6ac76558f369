import type { Config } from '../config.ts';
import type { EgressGateway } from '../egress/egress-gateway.ts';
import type { Envelope } from '../lib/envelope-crypto.ts';
import { createYouTubePublisher } from './google/youtube-publisher.ts';
import { createFacebookPublisher } from './meta/facebook-publisher.ts';
import { createInstagramPublisher } from './meta/instagram-publisher.ts';
import type { SocialPublisher } from './publishing-port.ts';
import type { SocialPlatformName } from './social-platform.ts';
import { createTikTokPublisher } from './tiktok/tiktok-publisher.ts';

/** The publishers, by the API's platform names; a platform without one cannot be published to yet. */
export type PublisherRegistry = {
  forPlatform(platform: SocialPlatformName): SocialPublisher | undefined;
};

export function registryOf(publishers: readonly SocialPublisher[]): PublisherRegistry {
  const byPlatform = new Map<SocialPlatformName, SocialPublisher>();
  for (const p of publishers) for (const name of p.platforms) byPlatform.set(name, p);
  return { forPlatform: (platform) => byPlatform.get(platform) };
}

/**
 * The vendor publishers. The envelope seals the upload session URLs they keep in checkpoints
 * (bound to org, publication and field), so another worker can go on with an upload; Meta's take
 * the app's credentials (appsecret_proof on Graph calls).
 */
export function createPublisherRegistry(deps: {
  config: Config;
  egress: EgressGateway;
  now: () => Date;
  envelope: Pick<Envelope, 'encrypt' | 'decrypt'>;
}): PublisherRegistry {
  const { egress, now, envelope } = deps;
  const meta = { egress, now, credentials: deps.config.social.meta };
  return registryOf([
    createTikTokPublisher({ egress, now, envelope }),
    createInstagramPublisher(meta),
    createFacebookPublisher(meta),
    createYouTubePublisher({ egress, now, envelope }),
  ]);
}
