import {
  delay,
  type FakeReply,
  type FakeRequest,
  randomToken,
  s256,
  startVendorFake,
} from '../vendor-fake-server.ts';

/**
 * A fake of TikTok's Login Kit v2 and Display API, checking requests as TikTok documents them:
 * authorize URL with `client_key` (not client_id), comma-separated `scope`, `response_type=code`, a
 * registered `redirect_uri`, PKCE `S256`; `POST /v2/oauth/token/` form-encoded with client_key,
 * client_secret, grant_type, the one-time code, the exact redirect_uri and a code_verifier matching
 * the challenge; refresh tokens that rotate (the previous one is invalid once a new one is issued);
 * `POST /v2/oauth/revoke/`; `GET /v2/user/info/` and `POST /v2/video/list/` with a Bearer token.
 * Errors as TikTok's: OAuth `{"error", "error_description", "log_id"}`, API
 * `{"error": {"code", "message", "log_id"}}`, 429 `rate_limit_exceeded`.
 */
export type TikTokFake = Awaited<ReturnType<typeof startTikTokFake>>;

export async function startTikTokFake(opts: {
  clientKey: string;
  clientSecret: string;
  redirectUris: string[];
  /** Lifetimes sent in responses (seconds). */
  expiresIn?: number;
  refreshExpiresIn?: number;
}) {
  const codes = new Map<
    string,
    { challenge: string; redirectUri: string; openId: string; scope: string; used: boolean }
  >();
  const access = new Map<string, { openId: string }>();
  const refresh = new Map<string, { openId: string; scope: string; current: boolean }>();
  const counts = { refresh: 0, revoke: 0, tokenExchange: 0, videoList: 0 };
  const control = {
    refreshDelayMs: 0,
    failRevoke: false,
    rateLimitVideoList: 0,
    videos: [] as Record<string, unknown>[],
    users: new Map<string, { username: string }>(),
  };
  const oauthError = (status: number, error: string, description: string): FakeReply => ({
    status,
    body: { error, error_description: description, log_id: 'log_fake' },
  });
  const apiError = (status: number, code: string): FakeReply => ({
    status,
    body: { data: {}, error: { code, message: code, log_id: 'log_fake' } },
  });

  function issue(openId: string, scope: string): FakeReply {
    const accessToken = randomToken('act.');
    const refreshToken = randomToken('rft.');
    access.set(accessToken, { openId });
    refresh.set(refreshToken, { openId, scope, current: true });
    return {
      status: 200,
      body: {
        open_id: openId,
        scope,
        access_token: accessToken,
        expires_in: opts.expiresIn ?? 7200,
        refresh_token: refreshToken,
        refresh_expires_in: opts.refreshExpiresIn ?? 15_552_000,
        token_type: 'Bearer',
      },
    };
  }

  function bearer(req: FakeRequest) {
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : '';
    return access.get(token);
  }

  async function route(req: FakeRequest): Promise<FakeReply> {
    if (req.path === '/v2/oauth/token/' || req.path === '/v2/oauth/revoke/') {
      if (req.method !== 'POST') return oauthError(405, 'invalid_request', 'method');
      if (!req.form)
        return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
      const f = req.form;
      if (f.has('client_id')) return oauthError(400, 'invalid_request', 'client_key is required');
      if (f.get('client_key') !== opts.clientKey || f.get('client_secret') !== opts.clientSecret)
        return oauthError(401, 'invalid_client', 'Client key or secret is incorrect.');
      if (req.path === '/v2/oauth/revoke/') {
        counts.revoke++;
        if (control.failRevoke) return { status: 503, body: { error: 'server_error' } };
        const token = f.get('token') ?? '';
        const owner = access.get(token);
        if (!owner) return oauthError(400, 'invalid_request', 'token is invalid');
        for (const [t, v] of access) if (v.openId === owner.openId) access.delete(t);
        for (const [t, v] of refresh) if (v.openId === owner.openId) refresh.delete(t);
        return { status: 200, body: {} };
      }
      const grant = f.get('grant_type');
      if (grant === 'authorization_code') {
        counts.tokenExchange++;
        const entry = codes.get(f.get('code') ?? '');
        if (!entry || entry.used) return oauthError(400, 'invalid_grant', 'Authorization code is expired.');
        entry.used = true;
        if (f.get('redirect_uri') !== entry.redirectUri)
          return oauthError(400, 'invalid_grant', 'redirect_uri does not match.');
        if (s256(f.get('code_verifier') ?? '') !== entry.challenge)
          return oauthError(400, 'invalid_request', 'Code verifier or code challenge is invalid.');
        return issue(entry.openId, entry.scope);
      }
      if (grant === 'refresh_token') {
        counts.refresh++;
        if (control.refreshDelayMs > 0) await delay(control.refreshDelayMs);
        const old = refresh.get(f.get('refresh_token') ?? '');
        if (!old?.current) return oauthError(400, 'invalid_grant', 'Refresh token is invalid or expired.');
        // Rotation: the previous refresh token stops working once a new one is issued.
        old.current = false;
        // A refresh keeps the scopes the user granted.
        return issue(old.openId, old.scope);
      }
      return oauthError(400, 'unsupported_grant_type', 'grant_type');
    }
    if (req.path === '/v2/user/info/') {
      if (req.method !== 'GET') return apiError(405, 'invalid_params');
      const who = bearer(req);
      if (!who) return apiError(401, 'access_token_invalid');
      if (!req.query.get('fields')) return apiError(400, 'invalid_params');
      const user = control.users.get(who.openId);
      return {
        status: 200,
        body: {
          data: { user: { open_id: who.openId, username: user?.username ?? 'brand', display_name: 'Brand' } },
          error: { code: 'ok', message: '', log_id: 'log_fake' },
        },
      };
    }
    if (req.path === '/v2/video/list/') {
      counts.videoList++;
      if (req.method !== 'POST') return apiError(405, 'invalid_params');
      if (control.rateLimitVideoList > 0) {
        control.rateLimitVideoList--;
        return apiError(429, 'rate_limit_exceeded');
      }
      if (!bearer(req)) return apiError(401, 'access_token_invalid');
      if (!String(req.headers['content-type']).startsWith('application/json'))
        return apiError(400, 'invalid_params');
      const body = JSON.parse(req.body || '{}') as { max_count?: number };
      if (body.max_count !== undefined && (body.max_count < 1 || body.max_count > 20))
        return apiError(400, 'invalid_params');
      if (!req.query.get('fields')) return apiError(400, 'invalid_params');
      return {
        status: 200,
        body: {
          data: { videos: control.videos, cursor: 0, has_more: false },
          error: { code: 'ok', message: '', log_id: 'x' },
        },
      };
    }
    return apiError(404, 'not_found');
  }

  const server = await startVendorFake(route);
  return {
    ...server,
    counts,
    control,
    /** Whose Bearer access token a request carries (undefined: none, expired or revoked); for extensions. */
    tokenOwner: bearer,
    /** The user consents at www.tiktok.com: checks the authorize URL, answers the redirect to our callback. */
    authorize(authorizationUrl: string, openId = 'open_tt_1'): string {
      const u = new URL(authorizationUrl);
      const q = u.searchParams;
      const problems: string[] = [];
      if (u.origin !== 'https://www.tiktok.com' || u.pathname !== '/v2/auth/authorize/')
        problems.push('endpoint');
      if (q.get('client_key') !== opts.clientKey || q.has('client_id')) problems.push('client_key');
      if (q.get('response_type') !== 'code') problems.push('response_type');
      const scope = q.get('scope') ?? '';
      if (!scope || /\s/.test(scope)) problems.push('scope must be comma-separated');
      const redirectUri = q.get('redirect_uri') ?? '';
      if (!opts.redirectUris.includes(redirectUri)) problems.push('redirect_uri not registered');
      if (
        q.get('code_challenge_method') !== 'S256' ||
        !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '')
      )
        problems.push('pkce');
      if (!q.get('state')) problems.push('state');
      if (problems.length > 0)
        throw new Error(`tiktok fake refused the authorize URL: ${problems.join(', ')}`);
      const code = randomToken('code.');
      codes.set(code, {
        challenge: q.get('code_challenge') as string,
        redirectUri,
        openId,
        scope,
        used: false,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('scopes', scope);
      back.searchParams.set('state', q.get('state') as string);
      return back.href;
    },
    /** Marks every refresh token of a user invalid (revoked at TikTok, expired). */
    killRefreshTokens() {
      refresh.clear();
    },
    /** Whether the token (access or refresh) is still live here. */
    isLive(token: string) {
      return access.has(token) || refresh.get(token)?.current === true;
    },
    liveAccessTokens: () => [...access.keys()],
  };
}
