import type { CallContext, PlatformDeps, StoredCredentials } from './social-platform.ts';

/**
 * The port every ads adapter implements (Meta Marketing API, TikTok API for Business). An ad
 * deployment is a persistent state machine driven by a job (modules/ads/), like a publication
 * (publishing-port.ts): the job calls `step` with the checkpoint it last stored, stores the
 * checkpoint `step` returns, and steps again after `retryAfterMs` until `created`.
 *
 * The rules that keep a `kill -9` from creating two campaigns: a step makes at most one creating call,
 * makes it last, and returns the platform's id in the checkpoint. Every object is named after the
 * deployment (`layers ad_…`), so when the job restarts from an older checkpoint the adapter finds
 * what exists by that name before it creates anything again. Everything is created paused.
 *
 * A checkpoint holds the platform ids of what exists (and progress flags) only: never a token, a
 * URL or a body. `rollback` deletes what the checkpoint (or a look-up by name) says exists, newest
 * first, and is idempotent: an object already gone counts as deleted.
 */
export type AdObjectKind = 'video' | 'campaign' | 'ad_set' | 'creative' | 'ad';
export const AD_OBJECT_KINDS: readonly AdObjectKind[] = ['video', 'campaign', 'ad_set', 'creative', 'ad'];

/**
 * `<kind>_id` → the platform's id; `video_ready` once the uploaded video can be used. TikTok also
 * keeps the ad identity it runs as (`identity_id`, shared by the advertiser's deployments, never
 * deleted) and `campaign_disabled` once the campaign is paused (its create may ignore the status).
 */
export type AdCheckpoint = Readonly<
  Partial<Record<`${AdObjectKind}_id`, string>> & {
    video_ready?: boolean;
    identity_id?: string;
    campaign_disabled?: boolean;
  }
>;

export type AdMedia = {
  id: string;
  kind: 'image' | 'video';
  contentType: string;
  bytes: number;
  /**
   * A signed URL under LAYERS_PUBLIC_URL that the platform fetches the video from. It is a
   * credential: sent only in the upload call, never in a checkpoint.
   */
  publicUrl(): string;
};

export type AdDeployRequest = {
  /** The `ad_` id: every platform object is named after it (the look-up key after a crash). */
  deploymentId: string;
  /** When the deployment was requested: look-ups by name search objects created since then. */
  createdAt: Date;
  adAccountId: string;
  media: AdMedia;
  /** The brand name the ad shows (TikTok's ad identity); null where the platform takes the Page's. */
  displayName: string | null;
  headline: string;
  body: string;
  dailyBudgetCents: number;
  /** ISO 3166 alpha-2 countries the ad set targets. */
  countries: readonly string[];
  checkpoint: AdCheckpoint;
};

export type AdStep =
  | { status: 'creating'; checkpoint: AdCheckpoint; retryAfterMs: number }
  | { status: 'created'; checkpoint: AdCheckpoint };

export type AdDeployer = {
  platform: 'meta' | 'tiktok';
  /** The scopes the connected account needs (checked before a deployment is queued). */
  requiredScopes: readonly string[];
  /**
   * Whose token the calls carry: the user token of the login that granted the connected account
   * (`grant_user`, StoredCredentials.grantUserToken; Meta: the Marketing API's ad-account endpoints
   * refuse a Page token), or the advertiser access token the partner gives with the deployment
   * (TikTok's Marketing API has its own authorization, which a Login Kit account does not have).
   */
  token: 'grant_user' | 'advertiser';
  /** Accepts the ad account id's documented shape; answers it normalised (Meta: without `act_`). */
  normaliseAdAccountId(value: string): string | null;
  /** What the platform would refuse in the request, checked before it is queued (null: nothing). */
  refusal(input: { body: string; countries: readonly string[] }): { param: string; message: string } | null;
  /** One step of the state machine; see the rules above. Throws PlatformError. */
  step(ctx: CallContext, credentials: StoredCredentials, request: AdDeployRequest): Promise<AdStep>;
  /** Deletes what exists (the checkpoint's ids and what a look-up by name finds), newest first. */
  rollback(
    ctx: CallContext,
    credentials: StoredCredentials,
    request: Pick<AdDeployRequest, 'deploymentId' | 'createdAt' | 'adAccountId' | 'checkpoint'>,
  ): Promise<void>;
};

export type AdDeployerFactory = (deps: PlatformDeps) => AdDeployer;

/** The name every platform object of a deployment carries: how a restarted step finds it. */
export const adObjectName = (deploymentId: string, kind: AdObjectKind) => `layers ${deploymentId} ${kind}`;
