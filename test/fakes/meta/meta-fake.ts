import { createHmac } from 'node:crypto';
import {
  type FakeReply,
  type FakeRequest,
  randomToken,
  s256,
  startVendorFake,
} from '../vendor-fake-server.ts';

/**
 * A fake of Meta's Facebook Login for Business and Graph API (v25.0), checking requests as Meta
 * documents them: the dialog URL with client_id, a registered redirect_uri, state and PKCE S256; the
 * code exchanged once at `GET /oauth/access_token` with client_id, client_secret, the exact
 * redirect_uri and a verifier that matches; the short-lived token exchanged for a long-lived one
 * (`grant_type=fb_exchange_token`); `/me`, `/me/accounts` (Pages with their Page tokens and
 * Instagram professional accounts), `/{page}/posts`, `/{ig-user}/media`; `DELETE
 * /{user}/permissions` with the app token. Every Graph call needs `access_token` and the matching
 * `appsecret_proof`. Errors as Meta's: `{"error": {"message", "type": "OAuthException", "code",
 * "error_subcode"}}` (190 for a dead token, 100 for bad parameters, 4 for the app rate limit).
 */
export type MetaFake = Awaited<ReturnType<typeof startMetaFake>>;

type Page = { id: string; name: string; ig?: { id: string; username: string } };

export async function startMetaFake(opts: { appId: string; appSecret: string; redirectUris: string[] }) {
  const V = '/v25.0';
  const codes = new Map<string, { challenge: string; redirectUri: string; userId: string; used: boolean }>();
  const shortTokens = new Map<string, string>();
  const userTokens = new Map<string, string>();
  const pageTokens = new Map<string, { userId: string; pageId: string }>();
  const counts = { deletePermissions: 0, graph: 0 };
  const control = {
    pagesByUser: new Map<string, Page[]>(),
    posts: new Map<string, Record<string, unknown>[]>(),
    rateLimit: 0,
    failDeletePermissions: false,
    /**
     * The long-lived exchange's `expires_in` (Meta's ~60 days by default). Undefined: the field is
     * left out, as Meta's answer may (its docs show the field, not a promise it is always there).
     */
    longLivedExpiresIn: 5_183_944 as number | undefined,
  };
  const err = (status: number, code: number, message: string, subcode?: number): FakeReply => ({
    status,
    body: {
      error: {
        message,
        type: 'OAuthException',
        code,
        ...(subcode ? { error_subcode: subcode } : {}),
        fbtrace_id: 'fake',
      },
    },
  });

  function checkToken(
    req: FakeRequest,
  ): { kind: 'user' | 'page' | 'app'; userId?: string; pageId?: string } | FakeReply {
    const token = req.query.get('access_token') ?? '';
    const proof = req.query.get('appsecret_proof') ?? '';
    if (!token) return err(400, 104, 'An access token is required to request this resource.');
    if (proof !== createHmac('sha256', opts.appSecret).update(token).digest('hex'))
      return err(400, 100, 'Invalid appsecret_proof provided in the API argument');
    if (token === `${opts.appId}|${opts.appSecret}`) return { kind: 'app' };
    const user = userTokens.get(token);
    if (user) return { kind: 'user', userId: user };
    const page = pageTokens.get(token);
    if (page) return { kind: 'page', userId: page.userId, pageId: page.pageId };
    return err(400, 190, 'Error validating access token: The session has been invalidated.', 460);
  }

  function route(req: FakeRequest): FakeReply {
    if (!req.path.startsWith(`${V}/`)) return err(400, 2500, 'Unknown path components');
    const path = req.path.slice(V.length);
    if (path === '/oauth/access_token') {
      if (req.method !== 'GET') return err(400, 100, 'method');
      const q = req.query;
      if (q.get('client_id') !== opts.appId || q.get('client_secret') !== opts.appSecret)
        return err(400, 101, 'Error validating client secret.');
      if (q.get('grant_type') === 'fb_exchange_token') {
        const user = shortTokens.get(q.get('fb_exchange_token') ?? '');
        if (!user) return err(400, 190, 'Invalid OAuth access token.');
        const long = randomToken('EAAL');
        userTokens.set(long, user);
        const expiry =
          control.longLivedExpiresIn === undefined ? {} : { expires_in: control.longLivedExpiresIn };
        return { status: 200, body: { access_token: long, token_type: 'bearer', ...expiry } };
      }
      const entry = codes.get(q.get('code') ?? '');
      if (!entry) return err(400, 100, 'Invalid verification code format.');
      if (entry.used) return err(400, 100, 'This authorization code has been used.', 36009);
      entry.used = true;
      if (q.get('redirect_uri') !== entry.redirectUri)
        return err(
          400,
          100,
          'Error validating verification code. Please make sure your redirect_uri is identical.',
          36008,
        );
      if (s256(q.get('code_verifier') ?? '') !== entry.challenge)
        return err(400, 100, 'Invalid code verifier.');
      const short = randomToken('EAAS');
      shortTokens.set(short, entry.userId);
      return { status: 200, body: { access_token: short, token_type: 'bearer', expires_in: 3600 } };
    }
    counts.graph++;
    if (control.rateLimit > 0) {
      control.rateLimit--;
      return err(400, 4, 'Application request limit reached');
    }
    const who = checkToken(req);
    if ('status' in who) return who;
    if (req.method === 'DELETE') {
      const m = /^\/([^/]+)\/permissions$/.exec(path);
      if (!m || (who.kind !== 'app' && who.userId !== m[1]))
        return err(400, 100, 'Unsupported delete request.');
      counts.deletePermissions++;
      if (control.failDeletePermissions)
        return err(500, 2, 'An unexpected error has occurred. Please retry your request later.');
      const userId = decodeURIComponent(m[1] as string);
      for (const [t, u] of userTokens) if (u === userId) userTokens.delete(t);
      for (const [t, p] of pageTokens) if (p.userId === userId) pageTokens.delete(t);
      return { status: 200, body: { success: true } };
    }
    if (req.method !== 'GET') return err(400, 100, 'method');
    if (path === '/me') {
      if (who.kind !== 'user') return err(400, 100, 'user token required');
      return { status: 200, body: { id: who.userId } };
    }
    if (path === '/me/accounts') {
      if (who.kind !== 'user') return err(400, 100, 'user token required');
      const fields = req.query.get('fields') ?? '';
      if (!fields.includes('access_token') || !fields.includes('instagram_business_account'))
        return err(400, 100, 'fields');
      const pages = control.pagesByUser.get(who.userId as string) ?? [];
      return {
        status: 200,
        body: {
          data: pages.map((p) => {
            const token = randomToken('EAAP');
            pageTokens.set(token, { userId: who.userId as string, pageId: p.id });
            return {
              id: p.id,
              name: p.name,
              access_token: token,
              ...(p.ig ? { instagram_business_account: { id: p.ig.id, username: p.ig.username } } : {}),
            };
          }),
        },
      };
    }
    const edge = /^\/([^/]+)\/(posts|media)$/.exec(path);
    if (edge) {
      if (who.kind !== 'page') return err(400, 190, 'page token required');
      return { status: 200, body: { data: control.posts.get(decodeURIComponent(edge[1] as string)) ?? [] } };
    }
    return err(400, 100, 'Unsupported get request.');
  }

  const server = await startVendorFake(route);
  return {
    ...server,
    counts,
    control,
    /** The `access_token` + `appsecret_proof` check of every Graph call, for extensions: who, or the error reply. */
    checkToken,
    graphVersion: V,
    authorize(authorizationUrl: string, userId: string): string {
      const u = new URL(authorizationUrl);
      const q = u.searchParams;
      const problems: string[] = [];
      if (u.origin !== 'https://www.facebook.com' || u.pathname !== `${V}/dialog/oauth`)
        problems.push('endpoint');
      if (q.get('client_id') !== opts.appId) problems.push('client_id');
      const redirectUri = q.get('redirect_uri') ?? '';
      if (!opts.redirectUris.includes(redirectUri)) problems.push('redirect_uri');
      if (!q.get('state')) problems.push('state');
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) problems.push('pkce');
      if (problems.length > 0) throw new Error(`meta fake refused the dialog URL: ${problems.join(', ')}`);
      const code = randomToken('AQ');
      codes.set(code, { challenge: q.get('code_challenge') as string, redirectUri, userId, used: false });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') as string);
      return back.href;
    },
    /** The live tokens a user's logins were issued: long-lived user tokens and Page tokens. */
    tokensOf(userId: string): { user: string[]; page: string[] } {
      return {
        user: [...userTokens].filter(([, u]) => u === userId).map(([t]) => t),
        page: [...pageTokens].filter(([, p]) => p.userId === userId).map(([t]) => t),
      };
    },
    /** Invalidates every token of a user (password change): Graph calls answer 190/460. */
    invalidateUser(userId: string) {
      for (const [t, u] of userTokens) if (u === userId) userTokens.delete(t);
      for (const [t, p] of pageTokens) if (p.userId === userId) pageTokens.delete(t);
    },
    /** A signed_request as Meta sends it to deauthorize and data-deletion callbacks. */
    signedRequest(userId: string, secret = opts.appSecret): string {
      const payload = Buffer.from(
        JSON.stringify({
          algorithm: 'HMAC-SHA256',
          issued_at: Math.floor(Date.now() / 1000),
          user_id: userId,
        }),
      ).toString('base64url');
      const sig = createHmac('sha256', secret).update(payload).digest('base64url');
      return `${sig}.${payload}`;
    },
  };
}
