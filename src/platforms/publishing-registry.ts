import type { EgressGateway } from '../egress/egress-gateway.ts';
import type { Envelope } from '../lib/envelope-crypto.ts';
import { createYouTubePublisher } from './google/youtube-publisher.ts';
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
 * (bound to org, publication and field), so another worker can go on with an upload.
 */
export function createPublisherRegistry(deps: {
  egress: EgressGateway;
  now: () => Date;
  envelope: Pick<Envelope, 'encrypt' | 'decrypt'>;
}): PublisherRegistry {
  return registryOf([createTikTokPublisher(deps), createYouTubePublisher(deps)]);
}
