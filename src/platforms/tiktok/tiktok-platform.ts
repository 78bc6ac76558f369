import { postTokenForm, requireRefreshToken, tokenSetOf } from '../oauth-token.ts';
import { callJson, oauthErrorInfo, type VendorErrorInfo } from '../platform-http.ts';
import {
  type CallContext,
  type PlatformDeps,
  PlatformError,
  type PostMetrics,
  postsOf,
  type SocialPlatform,
  type StoredCredentials,
  type TokenSet,
  toCount,
  toDate,
  toText,
} from '../social-platform.ts';

/**
 * TikTok: Login Kit v2 (authorize on www.tiktok.com, tokens on open.tiktokapis.com) and the Display
 * API (user info, video list). TikTok's quirks: `client_key` instead of `client_id`, comma-separated
 * scopes, form-encoded token calls, refresh tokens that rotate (the previous one stops working once a
 * new one is issued, so both tokens of every response are stored in one write), lifetimes only from
 * `expires_in` / `refresh_expires_in`, and API errors inside `{"error": {"code": …}}`.
 */
export const TIKTOK_AUTHORIZE_URL = 'https://www.tiktok.com/v2/auth/authorize/';
export const TIKTOK_TOKEN_URL = 'https://open.tiktokapis.com/v2/oauth/token/';
export const TIKTOK_REVOKE_URL = 'https://open.tiktokapis.com/v2/oauth/revoke/';
const USER_INFO_URL = 'https://open.tiktokapis.com/v2/user/info/';
const VIDEO_LIST_URL = 'https://open.tiktokapis.com/v2/video/list/';
// video.publish: Direct Post (creator_info, video/init, status/fetch; tiktok-publisher.ts).
const SCOPES = ['user.info.basic', 'user.info.profile', 'video.list', 'video.publish'] as const;
const VIDEO_FIELDS =
  'id,title,video_description,create_time,share_url,view_count,like_count,comment_count,share_count';

type TokenResponse = {
  open_id?: string;
  scope?: string;
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_expires_in?: number;
};

/** Display API errors: `{"error": {"code": "ok" | "access_token_invalid" | "rate_limit_exceeded" …}}`. */
function apiErrorInfo(status: number, body: unknown): VendorErrorInfo {
  const err = body && typeof body === 'object' ? (body as { error?: { code?: unknown } }).error : undefined;
  const code = err && typeof err === 'object' && typeof err.code === 'string' ? err.code : null;
  if (code === null || code === 'ok') return status >= 400 ? { code: null } : { code: null };
  if (code === 'access_token_invalid' || code === 'scope_not_authorized') return { kind: 'reauth', code };
  if (code === 'rate_limit_exceeded' || status === 429) return { kind: 'rate_limited', code };
  return { kind: status >= 500 ? 'transient' : 'refused', code };
}

export function createTikTokPlatform(
  deps: PlatformDeps & { credentials: { clientKey: string; clientSecret: string } | undefined },
): SocialPlatform {
  const { egress, now } = deps;
  const app = deps.credentials;

  function requireApp() {
    if (!app) throw new PlatformError('refused', 'tiktok is not configured');
    return app;
  }

  async function tokenCall(ctx: CallContext, form: Record<string, string>, secret: Record<string, string>) {
    const creds = requireApp();
    const body = await postTokenForm<TokenResponse>(egress, ctx, {
      vendor: 'tiktok',
      url: TIKTOK_TOKEN_URL,
      headers: { 'cache-control': 'no-cache' },
      form: { client_key: creds.clientKey, ...form },
      secret: { client_secret: creds.clientSecret, ...secret },
    });
    if (!body.access_token || !body.open_id)
      throw new PlatformError('transient', 'tiktok oauth call failed (transient: incomplete_token_response)');
    return body;
  }

  const tokensOf = (body: TokenResponse, previousRefresh: string | null): TokenSet =>
    tokenSetOf(now, body, body.refresh_expires_in, ',', previousRefresh);

  return {
    vendor: 'tiktok',
    platforms: ['tiktok'],
    configured: app !== undefined,
    scopes: SCOPES,

    authorizationUrl({ state, codeChallenge, redirectUri }) {
      const url = new URL(TIKTOK_AUTHORIZE_URL);
      url.searchParams.set('client_key', requireApp().clientKey);
      url.searchParams.set('scope', SCOPES.join(','));
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', codeChallenge);
      url.searchParams.set('code_challenge_method', 'S256');
      return url.href;
    },

    async connect(ctx, { code, codeVerifier, redirectUri }) {
      const body = await tokenCall(
        ctx,
        { grant_type: 'authorization_code' },
        { code, code_verifier: codeVerifier, redirect_uri: redirectUri },
      );
      const tokens = tokensOf(body, null);
      const info = await callJson<{
        data?: { user?: { open_id?: string; username?: string; display_name?: string } };
      }>(
        egress,
        {
          ...ctx,
          vendor: 'tiktok',
          purpose: 'oauth',
          dataClasses: [],
          records: 1,
          method: 'GET',
          url: `${USER_INFO_URL}?fields=open_id,username,display_name`,
          headers: { authorization: `Bearer ${tokens.accessToken}` },
        },
        apiErrorInfo,
      );
      const user = info.data?.user;
      return [
        {
          platform: 'tiktok',
          platformUserId: body.open_id as string,
          handle: toText(user?.username, 200) ?? toText(user?.display_name, 200),
          grantUserId: null,
          tokens,
        },
      ];
    },

    async refresh(ctx, credentials) {
      const refreshToken = requireRefreshToken('tiktok', credentials);
      const body = await tokenCall(ctx, { grant_type: 'refresh_token' }, { refresh_token: refreshToken });
      return tokensOf(body, refreshToken);
    },

    async revoke(ctx, credentials) {
      const creds = requireApp();
      if (!credentials.accessToken) return;
      await callJson(
        egress,
        {
          ...ctx,
          vendor: 'tiktok',
          purpose: 'oauth',
          dataClasses: ['oauth_credentials'],
          records: 1,
          method: 'POST',
          url: TIKTOK_REVOKE_URL,
          idempotent: true,
          body: { form: { client_key: creds.clientKey } },
          credentials: { form: { client_secret: creds.clientSecret, token: credentials.accessToken } },
        },
        oauthErrorInfo,
      );
    },

    async recentPosts(ctx, credentials: StoredCredentials): Promise<PostMetrics[]> {
      if (!credentials.accessToken) return [];
      const res = await callJson<{ data?: { videos?: Record<string, unknown>[] } }>(
        egress,
        {
          ...ctx,
          vendor: 'tiktok',
          purpose: 'metrics',
          dataClasses: ['platform_ids'],
          records: 20,
          method: 'POST',
          url: `${VIDEO_LIST_URL}?fields=${VIDEO_FIELDS}`,
          // A read: repeating it is harmless.
          idempotent: true,
          headers: { authorization: `Bearer ${credentials.accessToken}` },
          body: { json: { max_count: 20 } },
        },
        apiErrorInfo,
      );
      return postsOf(
        res.data?.videos,
        (v) => v.id,
        (v) => ({
          caption: toText(v.video_description) ?? toText(v.title),
          permalink: toText(v.share_url, 2048),
          publishedAt: toDate(v.create_time),
          views: toCount(v.view_count),
          likes: toCount(v.like_count),
          comments: toCount(v.comment_count),
          shares: toCount(v.share_count),
        }),
      );
    },
  };
}
