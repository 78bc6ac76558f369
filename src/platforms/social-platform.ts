import type { EgressGateway } from '../egress/egress-gateway.ts';

/**
 * The port every social-platform adapter implements (TikTok, Meta, Google). An adapter is a small
 * client of the vendor's documented API; every call leaves through the egress gateway (purposes
 * `oauth` and `metrics`; publishing will add `publishing` methods beside these). Tokens pass through
 * an adapter in memory only: it never stores, logs or puts them in an error message.
 */
export const SOCIAL_PLATFORMS = ['tiktok', 'instagram', 'facebook', 'youtube'] as const;
export type SocialPlatformName = (typeof SOCIAL_PLATFORMS)[number];

/** Who a call works for (the egress ledger's org and project). */
export type CallContext = { orgId: string; projectId: string | null };

export type TokenSet = {
  accessToken: string;
  /** Null when the platform has none (Meta) or did not send a new one (Google keeps the old one). */
  refreshToken: string | null;
  /** From the response's own lifetime; null: does not expire (Meta Page tokens). */
  expiresAt: Date | null;
  refreshExpiresAt: Date | null;
  scopes: string[];
};

/** One platform identity a login granted (a Meta login may grant several Pages and Instagram accounts). */
export type ConnectedIdentity = {
  platform: SocialPlatformName;
  platformUserId: string;
  handle: string | null;
  /** The platform user whose login granted this identity (Meta: the Facebook user). */
  grantUserId: string | null;
  tokens: TokenSet;
  /**
   * Meta: the login's long-lived user token (`fb_exchange_token`, about 60 days), which the Marketing
   * API's ad-account endpoints take where they refuse a Page token; absent elsewhere.
   */
  grantUserToken?: string;
  /** When grantUserToken expires (the exchange's `expires_in`); null: Meta did not say. */
  grantUserTokenExpiresAt?: Date | null;
};

export type StoredCredentials = {
  platform: SocialPlatformName;
  platformUserId: string;
  grantUserId: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  /** Meta: the login's user token (ConnectedIdentity.grantUserToken); null when the account has none. */
  grantUserToken?: string | null;
  /** When grantUserToken expires; null: unknown (Meta gave no `expires_in`) or no token. */
  grantUserTokenExpiresAt?: Date | null;
};

export type PostMetrics = {
  platformPostId: string;
  caption: string | null;
  permalink: string | null;
  publishedAt: Date | null;
  views: number | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
};

/**
 * How a platform call failed: `reauth` (invalid_grant, Meta 190: only the user can fix it, never
 * retried), `rate_limited` (429 or the vendor's own rate code; `retryAfterMs` when it said),
 * `transient` (5xx, timeouts: back off and retry), `refused` (anything else the platform refused).
 * The message names the platform and the vendor's error code only, never a token or a body.
 */
export type PlatformErrorKind = 'reauth' | 'rate_limited' | 'transient' | 'refused';

export class PlatformError extends Error {
  readonly kind: PlatformErrorKind;
  readonly vendorCode: string | null;
  readonly retryAfterMs: number | null;
  /**
   * The API's error code when the adapter knows better than the kind (publishing and ads:
   * `media_rejected`, `publishing_cap_reached`, …; see publishing-port.ts); null otherwise.
   */
  readonly apiCode: string | null;
  constructor(
    kind: PlatformErrorKind,
    message: string,
    opts: { vendorCode?: string | null; retryAfterMs?: number | null; apiCode?: string | null } = {},
  ) {
    super(message);
    this.name = 'PlatformError';
    this.kind = kind;
    this.vendorCode = opts.vendorCode ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
    this.apiCode = opts.apiCode ?? null;
  }
}

export type SocialPlatform = {
  vendor: 'tiktok' | 'meta' | 'google';
  /** The API's platform names this adapter serves (Meta: instagram and facebook). */
  platforms: readonly SocialPlatformName[];
  /** Whether this deployment has the app credentials (TIKTOK_CLIENT_KEY, …). */
  configured: boolean;
  scopes: readonly string[];
  /** The browser goes here (not a call we make: the user's browser follows it). */
  authorizationUrl(input: { state: string; codeChallenge: string; redirectUri: string }): string;
  /** Exchanges the code (PKCE verifier, the exact redirect URI) and finds the identities it grants. */
  connect(
    ctx: CallContext,
    input: { code: string; codeVerifier: string; redirectUri: string },
  ): Promise<ConnectedIdentity[]>;
  /** Null when the platform has no refresh (Meta): the token lives until it is revoked or expires. */
  refresh(ctx: CallContext, credentials: StoredCredentials): Promise<TokenSet | null>;
  /**
   * Revokes at the platform. `lastForGrant` is false when other live accounts still use the same
   * grant (several Pages of one Meta login): the platform grant is then kept for them.
   */
  revoke(ctx: CallContext, credentials: StoredCredentials, opts: { lastForGrant: boolean }): Promise<void>;
  recentPosts(ctx: CallContext, credentials: StoredCredentials): Promise<PostMetrics[]>;
};

export type PlatformDeps = { egress: EgressGateway; now: () => Date };

/** Seconds from a response (`expires_in`), as an instant; null when absent or not a positive number. */
export function expiryFrom(now: Date, seconds: unknown): Date | null {
  const n = typeof seconds === 'string' ? Number(seconds) : seconds;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return null;
  return new Date(now.getTime() + n * 1000);
}

export const toCount = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && /^\d+$/.test(v)
      ? Number(v)
      : null;

export const toText = (v: unknown, max = 5000): string | null =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null;

export function toDate(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
  if (typeof v === 'string') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

/** A vendor's list of posts as PostMetrics, newest first as listed; an item without an id is skipped. */
export function postsOf<T>(
  items: T[] | undefined,
  idOf: (item: T) => unknown,
  metrics: (item: T, id: string) => Omit<PostMetrics, 'platformPostId'>,
): PostMetrics[] {
  return (items ?? []).flatMap((item) => {
    const id = toText(idOf(item), 200);
    return id ? [{ platformPostId: id, ...metrics(item, id) }] : [];
  });
}
