import type { CallContext, PlatformDeps, SocialPlatformName, StoredCredentials } from './social-platform.ts';

/**
 * The port every publishing adapter implements (TikTok Content Posting, Instagram, Facebook Pages,
 * YouTube). Publishing is asynchronous on every platform, so a publication is a persistent state
 * machine driven by a job (modules/publishing/): the job calls `step` with the checkpoint it last
 * stored, stores the checkpoint `step` returns, and calls again after `retryAfterMs`.
 *
 * The rule that keeps a `kill -9` from posting twice: a step makes at most one call that creates
 * something at the platform, makes it last, and returns the platform's id in the checkpoint at once.
 * When the job restarts from an older checkpoint (it was killed after the call, before the store), the
 * adapter looks up what exists (the upload session's state, the container's status, the post list)
 * before it creates anything again. A checkpoint holds platform ids and progress only: never a token,
 * a URL with a signature or query, or a body.
 */
export type PublicationCheckpoint = Readonly<Record<string, string | number | boolean | null>>;

/** The generated media being published (a `med_` row and its bytes in the media store). */
export type PublishableMedia = {
  id: string;
  kind: 'image' | 'video';
  contentType: string;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  durationMs: number | null;
  /** Bytes [start, end) of the object, for chunked and resumable uploads. */
  read(start: number, end: number): Promise<Buffer>;
  /**
   * A signed URL under LAYERS_PUBLIC_URL that the platform fetches the bytes from (Instagram,
   * Facebook). It is a credential: send it only in the call that needs it, never in a checkpoint.
   */
  publicUrl(): string;
};

export type PublishRequest = {
  /** The `pub_` id: a stable key the adapter can send as the platform's idempotency key, if it has one. */
  publicationId: string;
  media: PublishableMedia;
  caption: string;
  /** The request's `privacy` (TikTok privacy level, YouTube privacyStatus); null: the adapter's default. */
  privacy: string | null;
  checkpoint: PublicationCheckpoint;
};

export type PublishStep =
  /** Not done yet: store the checkpoint (and the status), then step again after `retryAfterMs`. */
  | { status: 'uploading' | 'processing'; checkpoint: PublicationCheckpoint; retryAfterMs: number }
  | {
      status: 'published';
      checkpoint: PublicationCheckpoint;
      platformPostId: string;
      permalink: string | null;
    };

/**
 * Why a publication cannot succeed, beyond PlatformError's kinds (reauth, rate_limited, transient):
 * an adapter throws a PlatformError of kind `refused` whose `vendorCode` is the platform's code and
 * whose `apiCode` says which of these it is. The API answers these codes.
 */
export type PublishingErrorCode =
  | 'media_rejected'
  | 'publishing_cap_reached'
  | 'privacy_level_not_allowed'
  | 'unsupported_media'
  | 'publication_expired'
  | 'platform_refused';

export type SocialPublisher = {
  /** The API's platform names this adapter publishes to. */
  platforms: readonly SocialPlatformName[];
  /** The scopes a connected account needs for publishing (checked before a publication is queued). */
  requiredScopes(platform: SocialPlatformName): readonly string[];
  /** One step of the state machine; see the rule above. Throws PlatformError. */
  step(ctx: CallContext, credentials: StoredCredentials, request: PublishRequest): Promise<PublishStep>;
};

/** Every publisher factory takes the same deps as the platform adapters. */
export type PublisherFactory = (deps: PlatformDeps) => SocialPublisher;
