import { postTokenForm, requireRefreshToken, tokenSetOf } from '../oauth-token.ts';
import { callJson, oauthErrorInfo, type VendorErrorInfo } from '../platform-http.ts';
import {
  type CallContext,
  type PlatformDeps,
  PlatformError,
  type PostMetrics,
  postsOf,
  type SocialPlatform,
  type TokenSet,
  toCount,
  toDate,
  toText,
} from '../social-platform.ts';

/**
 * Google (YouTube): the web-server authorization-code flow with PKCE, `access_type=offline` and
 * `prompt=consent` (so every connect, a reconnect included, returns a refresh token). A refresh
 * usually returns no new refresh token: the stored one is kept. Refresh tokens die silently
 * (`invalid_grant`: revoked, unused for six months, a Testing-mode app after 7 days). Revoke is
 * `POST oauth2.googleapis.com/revoke` with the token (revoking the refresh token ends the grant).
 * Posts: the channel's uploads playlist, then `videos.list` with statistics (1 quota unit each).
 */
export const GOOGLE_AUTHORIZE_URL = 'https://accounts.google.com/o/oauth2/v2/auth';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_REVOKE_URL = 'https://oauth2.googleapis.com/revoke';
const YOUTUBE = 'https://www.googleapis.com/youtube/v3';
/** Reading the channel's videos, and uploading to it (videos.insert: youtube-publisher.ts). */
const SCOPES = [
  'https://www.googleapis.com/auth/youtube.readonly',
  'https://www.googleapis.com/auth/youtube.upload',
] as const;

type TokenResponse = {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
  scope?: string;
};

/** The YouTube Data API's error body (`{"error": {"code", "errors": [{"reason"}]}}`), also for uploads. */
export function youtubeErrorInfo(status: number, body: unknown): VendorErrorInfo {
  const err = (body as { error?: { code?: unknown; errors?: { reason?: unknown }[] } } | null)?.error;
  if (!err || typeof err !== 'object')
    return status === 401 ? { kind: 'reauth', code: '401' } : { code: null };
  const reason = typeof err.errors?.[0]?.reason === 'string' ? (err.errors[0].reason as string) : null;
  if (status === 401) return { kind: 'reauth', code: reason ?? '401' };
  // The token lacks a scope (the person unticked it on Google's consent screen, or took it back):
  // only a new consent grants it, so it is a reconnect. Other 403s (forbidden, quota) are not.
  if (status === 403 && reason === 'insufficientPermissions') return { kind: 'reauth', code: reason };
  if (
    status === 429 ||
    reason === 'rateLimitExceeded' ||
    reason === 'userRateLimitExceeded' ||
    reason === 'quotaExceeded'
  )
    return { kind: 'rate_limited', code: reason ?? '429' };
  return { kind: status >= 500 ? 'transient' : 'refused', code: reason };
}

export function createGooglePlatform(
  deps: PlatformDeps & { credentials: { clientId: string; clientSecret: string } | undefined },
): SocialPlatform {
  const { egress, now } = deps;
  const app = deps.credentials;

  function requireApp() {
    if (!app) throw new PlatformError('refused', 'google is not configured');
    return app;
  }

  async function token(ctx: CallContext, form: Record<string, string>, secret: Record<string, string>) {
    const creds = requireApp();
    const body = await postTokenForm<TokenResponse>(egress, ctx, {
      vendor: 'google',
      url: GOOGLE_TOKEN_URL,
      form: { client_id: creds.clientId, ...form },
      secret: { client_secret: creds.clientSecret, ...secret },
    });
    if (!body.access_token)
      throw new PlatformError('transient', 'google oauth call failed (transient: no_token)');
    return body;
  }

  const tokensOf = (b: TokenResponse, previousRefresh: string | null): TokenSet =>
    tokenSetOf(now, b, b.refresh_token_expires_in, ' ', previousRefresh);

  function youtube<T>(
    ctx: CallContext,
    path: string,
    accessToken: string,
    purpose: 'oauth' | 'metrics',
    records = 1,
  ) {
    return callJson<T>(
      egress,
      {
        ...ctx,
        vendor: 'google',
        purpose,
        dataClasses: purpose === 'metrics' ? ['platform_ids'] : [],
        records,
        method: 'GET',
        url: `${YOUTUBE}${path}`,
        headers: { authorization: `Bearer ${accessToken}` },
      },
      youtubeErrorInfo,
    );
  }

  return {
    vendor: 'google',
    platforms: ['youtube'],
    configured: app !== undefined,
    scopes: SCOPES,

    authorizationUrl({ state, codeChallenge, redirectUri }) {
      const url = new URL(GOOGLE_AUTHORIZE_URL);
      url.searchParams.set('client_id', requireApp().clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', SCOPES.join(' '));
      url.searchParams.set('access_type', 'offline');
      url.searchParams.set('prompt', 'consent');
      url.searchParams.set('include_granted_scopes', 'true');
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', codeChallenge);
      url.searchParams.set('code_challenge_method', 'S256');
      return url.href;
    },

    async connect(ctx, { code, codeVerifier, redirectUri }) {
      const body = await token(
        ctx,
        { grant_type: 'authorization_code' },
        { code, code_verifier: codeVerifier, redirect_uri: redirectUri },
      );
      const tokens = tokensOf(body, null);
      const channels = await youtube<{
        items?: { id?: string; snippet?: { title?: string; customUrl?: string } }[];
      }>(ctx, '/channels?part=snippet&mine=true', tokens.accessToken, 'oauth');
      return (channels.items ?? []).flatMap((c) => {
        const id = toText(c.id, 200);
        if (!id) return [];
        return [
          {
            platform: 'youtube' as const,
            platformUserId: id,
            handle: toText(c.snippet?.customUrl, 200) ?? toText(c.snippet?.title, 200),
            grantUserId: null,
            tokens,
          },
        ];
      });
    },

    async refresh(ctx, credentials) {
      const refreshToken = requireRefreshToken('google', credentials);
      const body = await token(ctx, { grant_type: 'refresh_token' }, { refresh_token: refreshToken });
      return tokensOf(body, refreshToken);
    },

    async revoke(ctx, credentials) {
      const tokenToRevoke = credentials.refreshToken ?? credentials.accessToken;
      if (!tokenToRevoke) return;
      await callJson(
        egress,
        {
          ...ctx,
          vendor: 'google',
          purpose: 'oauth',
          dataClasses: ['oauth_credentials'],
          records: 1,
          method: 'POST',
          url: GOOGLE_REVOKE_URL,
          idempotent: true,
          body: { form: {} },
          credentials: { form: { token: tokenToRevoke } },
        },
        (status, body) => {
          // An already revoked or expired token answers 400 invalid_token: the grant is gone either way.
          const info = oauthErrorInfo(status, body);
          return info.code === 'invalid_token' ? { code: null } : info;
        },
      );
    },

    async recentPosts(ctx, credentials): Promise<PostMetrics[]> {
      if (!credentials.accessToken) return [];
      const id = encodeURIComponent(credentials.platformUserId);
      const ch = await youtube<{
        items?: { contentDetails?: { relatedPlaylists?: { uploads?: string } } }[];
      }>(ctx, `/channels?part=contentDetails&id=${id}`, credentials.accessToken, 'metrics');
      const uploads = toText(ch.items?.[0]?.contentDetails?.relatedPlaylists?.uploads, 200);
      if (!uploads) return [];
      const items = await youtube<{ items?: { contentDetails?: { videoId?: string } }[] }>(
        ctx,
        `/playlistItems?part=contentDetails&maxResults=25&playlistId=${encodeURIComponent(uploads)}`,
        credentials.accessToken,
        'metrics',
        25,
      );
      const ids = (items.items ?? [])
        .map((i) => toText(i.contentDetails?.videoId, 200))
        .filter((v): v is string => !!v);
      if (ids.length === 0) return [];
      const videos = await youtube<{
        items?: { id?: string; snippet?: Record<string, unknown>; statistics?: Record<string, unknown> }[];
      }>(
        ctx,
        `/videos?part=snippet,statistics&id=${ids.map(encodeURIComponent).join(',')}`,
        credentials.accessToken,
        'metrics',
        ids.length,
      );
      return postsOf(
        videos.items,
        (v) => v.id,
        (v, videoId) => ({
          caption: toText(v.snippet?.title),
          permalink: `https://www.youtube.com/watch?v=${encodeURIComponent(videoId)}`,
          publishedAt: toDate(v.snippet?.publishedAt),
          views: toCount(v.statistics?.viewCount),
          likes: toCount(v.statistics?.likeCount),
          comments: toCount(v.statistics?.commentCount),
          shares: null,
        }),
      );
    },
  };
}
