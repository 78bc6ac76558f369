import { createHmac } from 'node:crypto';
import type { EgressCall } from '../../egress/egress-types.ts';
import { callJson, type VendorErrorInfo } from '../platform-http.ts';
import {
  type CallContext,
  type ConnectedIdentity,
  expiryFrom,
  type PlatformDeps,
  PlatformError,
  type PostMetrics,
  postsOf,
  type SocialPlatform,
  type StoredCredentials,
  toCount,
  toDate,
  toText,
} from '../social-platform.ts';

/**
 * Meta: Facebook Login for Business. The code is exchanged for a short-lived user token, that for a
 * long-lived one (`fb_exchange_token`, about 60 days; Meta has no refresh token), and the long-lived
 * user token lists the Pages the user granted (`/me/accounts`) with their Page tokens (which do not
 * expire) and each Page's Instagram professional account. One login thus makes one account per Page
 * and per Instagram account; each stores its Page's token and the login's long-lived user token
 * (the Marketing API's ad-account endpoints refuse Page tokens: meta-ads.ts). Every Graph call carries
 * `appsecret_proof` (HMAC-SHA256 of the token with the app secret). Error 190 (invalid or expired
 * token, 460 password changed, 463 expired) means only the user can fix it: needs_reconnect.
 */
export const GRAPH_VERSION = 'v25.0';
export const META_DIALOG_URL = `https://www.facebook.com/${GRAPH_VERSION}/dialog/oauth`;
const GRAPH = `https://graph.facebook.com/${GRAPH_VERSION}`;
const SCOPES = [
  'pages_show_list',
  'pages_read_engagement',
  'pages_read_user_content',
  'instagram_basic',
  'instagram_manage_insights',
  'business_management',
  // Publishing (instagram-publisher.ts, facebook-publisher.ts): Meta's permissions for each edge.
  'instagram_content_publish',
  'pages_manage_posts',
  'publish_video',
  // Ads (meta-ads.ts): creating paused campaigns and reading them back.
  'ads_management',
  'ads_read',
] as const;

type GraphError = { error?: { code?: unknown; error_subcode?: unknown; type?: unknown } };

function graphErrorInfo(status: number, body: unknown): VendorErrorInfo {
  const err = (body as GraphError | null)?.error;
  if (!err || typeof err !== 'object') return { code: null };
  const code = typeof err.code === 'number' ? err.code : Number(err.code);
  const label = Number.isFinite(code) ? String(code) : null;
  // 190: the token is invalid (expired, password changed, app removed); 102: session; 10/200: permission gone.
  if (code === 190 || code === 102) return { kind: 'reauth', code: label };
  // 4, 17, 32, 613: rate limits (app, user, page, custom).
  if ([4, 17, 32, 613].includes(code) || status === 429) return { kind: 'rate_limited', code: label };
  if (code === 1 || code === 2) return { kind: 'transient', code: label };
  return { kind: status >= 500 ? 'transient' : 'refused', code: label };
}

type PageEntry = {
  id?: string;
  name?: string;
  access_token?: string;
  instagram_business_account?: { id?: string; username?: string };
};

export function createMetaPlatform(
  deps: PlatformDeps & { credentials: { appId: string; appSecret: string } | undefined },
): SocialPlatform {
  const { egress } = deps;
  const app = deps.credentials;

  function requireApp() {
    if (!app) throw new PlatformError('refused', 'meta is not configured');
    return app;
  }

  const proof = (token: string) => createHmac('sha256', requireApp().appSecret).update(token).digest('hex');

  /** A Graph call authenticated by `token` (query access_token + appsecret_proof, never recorded). */
  function graph<T>(
    ctx: CallContext,
    method: 'GET' | 'DELETE',
    path: string,
    token: string,
    opts: Partial<Pick<EgressCall, 'purpose' | 'dataClasses' | 'records'>> = {},
  ): Promise<T> {
    return callJson<T>(
      egress,
      {
        ...ctx,
        vendor: 'meta',
        purpose: opts.purpose ?? 'oauth',
        dataClasses: opts.dataClasses ?? [],
        records: opts.records ?? 1,
        method,
        url: `${GRAPH}${path}`,
        credentials: { query: { access_token: token, appsecret_proof: proof(token) } },
      },
      graphErrorInfo,
    );
  }

  /** The token endpoint (GET with query parameters, as Meta documents it); secrets as credentials. */
  function tokenEndpoint(ctx: CallContext, params: Record<string, string>, secret: Record<string, string>) {
    const creds = requireApp();
    const url = new URL(`${GRAPH}/oauth/access_token`);
    url.searchParams.set('client_id', creds.appId);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return callJson<{ access_token?: string; expires_in?: number }>(
      egress,
      {
        ...ctx,
        vendor: 'meta',
        purpose: 'oauth',
        dataClasses: ['oauth_credentials'],
        records: 1,
        method: 'GET',
        url: url.href,
        credentials: { query: { client_secret: creds.appSecret, ...secret } },
      },
      graphErrorInfo,
    );
  }

  return {
    vendor: 'meta',
    platforms: ['facebook', 'instagram'],
    configured: app !== undefined,
    scopes: SCOPES,

    authorizationUrl({ state, codeChallenge, redirectUri }) {
      const url = new URL(META_DIALOG_URL);
      url.searchParams.set('client_id', requireApp().appId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('state', state);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', SCOPES.join(','));
      url.searchParams.set('code_challenge', codeChallenge);
      url.searchParams.set('code_challenge_method', 'S256');
      return url.href;
    },

    async connect(ctx, { code, codeVerifier, redirectUri }) {
      const short = await tokenEndpoint(
        ctx,
        {},
        { code, code_verifier: codeVerifier, redirect_uri: redirectUri },
      );
      if (!short.access_token)
        throw new PlatformError('transient', 'meta oauth call failed (transient: no_token)');
      const long = await tokenEndpoint(
        ctx,
        { grant_type: 'fb_exchange_token' },
        { fb_exchange_token: short.access_token },
      );
      const userToken = long.access_token;
      if (!userToken)
        throw new PlatformError('transient', 'meta oauth call failed (transient: no_long_lived_token)');
      // Meta documents `expires_in` on the exchange (about 60 days) but may leave it out: then unknown (null).
      const userTokenExpiresAt = expiryFrom(deps.now(), long.expires_in);
      const me = await graph<{ id?: string }>(ctx, 'GET', '/me?fields=id', userToken);
      const userId = toText(me.id, 200);
      if (!userId) throw new PlatformError('transient', 'meta oauth call failed (transient: no_user_id)');
      const pages = await graph<{ data?: PageEntry[] }>(
        ctx,
        'GET',
        '/me/accounts?fields=id,name,access_token,instagram_business_account%7Bid,username%7D&limit=100',
        userToken,
      );
      const identities: ConnectedIdentity[] = [];
      for (const page of pages.data ?? []) {
        const pageId = toText(page.id, 200);
        if (!pageId || !page.access_token) continue;
        // Page tokens derived from a long-lived user token do not expire.
        const tokens = {
          accessToken: page.access_token,
          refreshToken: null,
          expiresAt: null,
          refreshExpiresAt: null,
          scopes: [...SCOPES],
        };
        identities.push({
          platform: 'facebook',
          platformUserId: pageId,
          handle: toText(page.name, 200),
          grantUserId: userId,
          tokens,
          grantUserToken: userToken,
          grantUserTokenExpiresAt: userTokenExpiresAt,
        });
        const ig = page.instagram_business_account;
        const igId = toText(ig?.id, 200);
        if (igId)
          identities.push({
            platform: 'instagram',
            platformUserId: igId,
            handle: toText(ig?.username, 200),
            grantUserId: userId,
            tokens,
            grantUserToken: userToken,
            grantUserTokenExpiresAt: userTokenExpiresAt,
          });
      }
      return identities;
    },

    // Meta has no refresh token: Page tokens live until the user or Meta invalidates them (190).
    refresh: async () => null,

    async revoke(ctx, credentials: StoredCredentials, { lastForGrant }) {
      // Removing the app's permissions ends the whole login (every Page and Instagram account of it),
      // so only the last live account of a grant does it; a Page token has no revoke of its own. It
      // is done with the app access token (Meta allows it), so a retry never needs the user's token.
      if (!lastForGrant || !credentials.grantUserId) return;
      const creds = requireApp();
      await graph(
        ctx,
        'DELETE',
        `/${encodeURIComponent(credentials.grantUserId)}/permissions`,
        `${creds.appId}|${creds.appSecret}`,
      );
    },

    async recentPosts(ctx, credentials): Promise<PostMetrics[]> {
      if (!credentials.accessToken) return [];
      const id = encodeURIComponent(credentials.platformUserId);
      const opts = { purpose: 'metrics' as const, dataClasses: ['platform_ids' as const], records: 25 };
      if (credentials.platform === 'instagram') {
        const res = await graph<{ data?: Record<string, unknown>[] }>(
          ctx,
          'GET',
          `/${id}/media?fields=id,caption,permalink,timestamp,like_count,comments_count&limit=25`,
          credentials.accessToken,
          opts,
        );
        return postsOf(
          res.data,
          (m) => m.id,
          (m) => ({
            caption: toText(m.caption),
            permalink: toText(m.permalink, 2048),
            publishedAt: toDate(m.timestamp),
            views: null,
            likes: toCount(m.like_count),
            comments: toCount(m.comments_count),
            shares: null,
          }),
        );
      }
      const res = await graph<{ data?: Record<string, unknown>[] }>(
        ctx,
        'GET',
        `/${id}/posts?fields=id,message,permalink_url,created_time,shares,likes.summary(true).limit(0),comments.summary(true).limit(0)&limit=25`,
        credentials.accessToken,
        opts,
      );
      const summary = (v: unknown) =>
        toCount((v as { summary?: { total_count?: unknown } } | undefined)?.summary?.total_count);
      return postsOf(
        res.data,
        (p) => p.id,
        (p) => ({
          caption: toText(p.message),
          permalink: toText(p.permalink_url, 2048),
          publishedAt: toDate(p.created_time),
          views: null,
          likes: summary(p.likes),
          comments: summary(p.comments),
          shares: toCount((p.shares as { count?: unknown } | undefined)?.count),
        }),
      );
    },
  };
}
