import {
  type FakeReply,
  type FakeRequest,
  randomToken,
  s256,
  startVendorFake,
} from '../vendor-fake-server.ts';

/**
 * A fake of Google's OAuth 2.0 web-server flow and the YouTube Data API v3, checking requests as
 * Google documents them: the authorize URL with client_id, a registered redirect_uri,
 * response_type=code, space-separated scopes, access_type=offline, prompt=consent, state and PKCE
 * S256; `POST /token` form-encoded (authorization_code with the exact redirect_uri and a matching
 * code_verifier; refresh_token without a new refresh token in the answer); `POST /revoke` with
 * `token` (GET answers 404 as Google's does); `/youtube/v3/channels|playlistItems|videos` with a
 * Bearer token. Errors as Google's: `{"error": "invalid_grant", "error_description"}` on the token
 * endpoint, `{"error": {"code", "errors": [{"reason"}]}}` on the API.
 */
export type GoogleFake = Awaited<ReturnType<typeof startGoogleFake>>;

export async function startGoogleFake(opts: {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}) {
  const codes = new Map<
    string,
    { challenge: string; redirectUri: string; channelId: string; used: boolean }
  >();
  const access = new Map<string, string>();
  const refresh = new Map<string, string>();
  /** The scopes each channel's grant holds (the authorize URL's): token answers echo them, as Google's do. */
  const granted = new Map<string, string>();
  const counts = { refresh: 0, revoke: 0 };
  const control = { videos: [] as { id: string; title: string; views: number }[] };
  const oauthError = (error: string, description: string): FakeReply => ({
    status: 400,
    body: { error, error_description: description },
  });
  const apiError = (status: number, reason: string): FakeReply => ({
    status,
    body: { error: { code: status, message: reason, errors: [{ reason, domain: 'youtube' }] } },
  });

  /** A token answer for a channel: a new access token, and a new refresh token only `withRefresh`. */
  function issue(channel: string, withRefresh: boolean): FakeReply {
    const at = randomToken('ya29.');
    access.set(at, channel);
    const rt = withRefresh ? randomToken('1//') : undefined;
    if (rt) refresh.set(rt, channel);
    return {
      status: 200,
      body: {
        access_token: at,
        expires_in: 3599,
        ...(rt ? { refresh_token: rt } : {}),
        scope: granted.get(channel) ?? '',
        token_type: 'Bearer',
      },
    };
  }

  function route(req: FakeRequest): FakeReply {
    if (req.path === '/token' || req.path === '/revoke') {
      if (req.method !== 'POST') return { status: 404, body: {} };
      if (!req.form)
        return oauthError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
      const f = req.form;
      if (req.path === '/revoke') {
        counts.revoke++;
        const token = f.get('token') ?? '';
        const channel = refresh.get(token) ?? access.get(token);
        if (!channel) return oauthError('invalid_token', 'Token expired or revoked');
        for (const [t, c] of access) if (c === channel) access.delete(t);
        for (const [t, c] of refresh) if (c === channel) refresh.delete(t);
        return { status: 200, body: {} };
      }
      if (f.get('client_id') !== opts.clientId || f.get('client_secret') !== opts.clientSecret)
        return { status: 401, body: { error: 'invalid_client', error_description: 'Unauthorized' } };
      if (f.get('grant_type') === 'authorization_code') {
        const entry = codes.get(f.get('code') ?? '');
        if (!entry || entry.used) return oauthError('invalid_grant', 'Malformed auth code.');
        entry.used = true;
        if (f.get('redirect_uri') !== entry.redirectUri)
          return oauthError('redirect_uri_mismatch', 'Bad Request');
        if (s256(f.get('code_verifier') ?? '') !== entry.challenge)
          return oauthError('invalid_grant', 'Invalid code verifier.');
        return issue(entry.channelId, true);
      }
      if (f.get('grant_type') === 'refresh_token') {
        counts.refresh++;
        const channel = refresh.get(f.get('refresh_token') ?? '');
        if (!channel) return oauthError('invalid_grant', 'Token has been expired or revoked.');
        // Google does not rotate: no refresh_token in a refresh answer.
        return issue(channel, false);
      }
      return oauthError('unsupported_grant_type', 'Invalid grant_type');
    }
    if (!req.path.startsWith('/youtube/v3/')) return { status: 404, body: {} };
    const auth = String(req.headers.authorization ?? '');
    const channel = auth.startsWith('Bearer ') ? access.get(auth.slice(7)) : undefined;
    if (!channel) return apiError(401, 'authError');
    const q = req.query;
    if (!q.get('part')) return apiError(400, 'missingRequiredParameter');
    if (req.path === '/youtube/v3/channels') {
      if (q.get('mine') !== 'true' && q.get('id') !== channel) return apiError(403, 'forbidden');
      return {
        status: 200,
        body: {
          items: [
            {
              id: channel,
              snippet: { title: 'Brand Channel', customUrl: '@brandchannel' },
              contentDetails: { relatedPlaylists: { uploads: `UU${channel.slice(2)}` } },
            },
          ],
        },
      };
    }
    if (req.path === '/youtube/v3/playlistItems') {
      if (q.get('playlistId') !== `UU${channel.slice(2)}`) return apiError(404, 'playlistNotFound');
      return {
        status: 200,
        body: { items: control.videos.map((v) => ({ contentDetails: { videoId: v.id } })) },
      };
    }
    if (req.path === '/youtube/v3/videos') {
      const ids = (q.get('id') ?? '').split(',');
      return {
        status: 200,
        body: {
          items: control.videos
            .filter((v) => ids.includes(v.id))
            .map((v) => ({
              id: v.id,
              snippet: { title: v.title, publishedAt: '2026-11-29T12:00:00Z' },
              statistics: { viewCount: String(v.views), likeCount: '7', commentCount: '1' },
            })),
        },
      };
    }
    return { status: 404, body: {} };
  }

  const server = await startVendorFake(route);
  return {
    ...server,
    counts,
    control,
    /** The channel whose Bearer access token a request carries (undefined: none or dead); for extensions. */
    channelOf(req: FakeRequest): string | undefined {
      const auth = String(req.headers.authorization ?? '');
      return auth.startsWith('Bearer ') ? access.get(auth.slice(7)) : undefined;
    },
    authorize(authorizationUrl: string, channelId = 'UCbrand0001'): string {
      const u = new URL(authorizationUrl);
      const q = u.searchParams;
      const problems: string[] = [];
      if (u.origin !== 'https://accounts.google.com' || u.pathname !== '/o/oauth2/v2/auth')
        problems.push('endpoint');
      if (q.get('client_id') !== opts.clientId) problems.push('client_id');
      const redirectUri = q.get('redirect_uri') ?? '';
      if (!opts.redirectUris.includes(redirectUri)) problems.push('redirect_uri_mismatch');
      if (q.get('response_type') !== 'code') problems.push('response_type');
      if (q.get('access_type') !== 'offline') problems.push('access_type');
      if (q.get('prompt') !== 'consent') problems.push('prompt');
      if (!(q.get('scope') ?? '').startsWith('https://www.googleapis.com/auth/')) problems.push('scope');
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) problems.push('pkce');
      if (problems.length > 0)
        throw new Error(`google fake refused the authorize URL: ${problems.join(', ')}`);
      granted.set(channelId, q.get('scope') as string);
      const code = randomToken('4/0A');
      codes.set(code, { challenge: q.get('code_challenge') as string, redirectUri, channelId, used: false });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('scope', q.get('scope') as string);
      back.searchParams.set('state', q.get('state') as string);
      return back.href;
    },
    /** Google revoked the refresh token silently (unused for 6 months, Testing-mode app). */
    killRefreshTokens() {
      refresh.clear();
    },
    liveRefreshTokens: () => refresh.size,
  };
}
