import http from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVendorFake, type VendorFakeServer } from '../fakes/vendor-fake-server.ts';
import { followCallback, PUBLIC_URL, startConnect } from '../helpers/social-accounts.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * The generic OAuth 2 parts (authorization code with PKCE S256, the exact redirect URI, refresh,
 * invalid_grant, revocation) against a third-party authorization server, `oauth2-mock-server`,
 * not only our own fakes: the standard-shaped Google adapter's token and revoke endpoints are sent
 * to it (LAYERS_EGRESS_REDIRECT), and the browser's consent is its /authorize endpoint. The mock
 * server itself checks the verifier against the challenge.
 */
describe('social accounts: OAuth against oauth2-mock-server', () => {
  let as: OAuth2Server;
  let youtube: VendorFakeServer;
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  const revoked: string[] = [];

  beforeAll(async () => {
    as = new OAuth2Server();
    await as.issuer.keys.generate('RS256');
    await as.start(0, '127.0.0.1');
    as.service.on(
      'beforeRevoke',
      (_res: unknown, req: http.IncomingMessage & { body?: Record<string, string> }) => {
        revoked.push(String(req.body?.token ?? ''));
      },
    );
    // The channel lookup after the exchange: any JWT the mock server issued is a valid Bearer.
    youtube = await startVendorFake((req) => {
      const auth = String(req.headers.authorization ?? '');
      if (!/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(auth))
        return { status: 401, body: { error: { code: 401 } } };
      return { status: 200, body: { items: [{ id: 'UCmock0001', snippet: { title: 'Mock channel' } }] } };
    });
    const issuer = as.issuer.url as string;
    t = await createTestApp({
      env: {
        GOOGLE_CLIENT_ID: 'mock-client',
        GOOGLE_CLIENT_SECRET: 'mock-secret',
        LAYERS_PUBLIC_URL: PUBLIC_URL,
        LAYERS_EGRESS_REDIRECT: `oauth2.googleapis.com=${issuer},www.googleapis.com=${youtube.url}`,
      },
    });
    org = await createOrg(t.app);
    projectId = (await createProject(t.app, org)).id;
  });
  afterAll(async () => {
    await t.close();
    await youtube.close();
    await as.stop();
  });

  /** The browser at the authorization server: its /authorize redirects back with a code. */
  function consent(authorizationUrl: string, tamper?: (q: URLSearchParams) => void): Promise<string> {
    const ours = new URL(authorizationUrl);
    const at = new URL(`${as.issuer.url}/authorize`);
    at.search = ours.search;
    tamper?.(at.searchParams);
    return new Promise((resolve, reject) => {
      http
        .get(at, (res) => {
          res.resume();
          const loc = res.headers.location;
          if (res.statusCode !== 302 || !loc) reject(new Error(`authorize answered ${res.statusCode}`));
          else resolve(loc);
        })
        .on('error', reject);
    });
  }

  const row = async (id: string) =>
    (await t.db.systemPool.query('SELECT * FROM social_accounts WHERE id = $1', [id])).rows[0];

  it('code + PKCE S256 exchange at the exact redirect URI, then refresh, then revoke', async () => {
    const redirect = await consent(await startConnect(t, org, projectId, 'youtube'));
    expect(new URL(redirect).href.startsWith(`${PUBLIC_URL}/v1/oauth/callback/youtube?`)).toBe(true);
    const back = await followCallback(t, redirect);
    expect(back.status).toBe(303);
    const id = back.location?.searchParams.get('social_account_ids') as string;
    expect(id).toMatch(/^sa_/);
    const first = await row(id);
    expect(first.encrypted_refresh_token).toMatch(/^lenc1:/);

    await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
    const creds = await t.container.socialAccounts.tokens.credentials(org.id, id);
    expect(creds.accessToken?.split('.')).toHaveLength(3);
    // The mock server rotates refresh tokens: the new one is stored with the access token.
    expect((await row(id)).encrypted_refresh_token).not.toBe(first.encrypted_refresh_token);

    const calls = revoked.length;
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/social-accounts/${id}`,
      headers: bearer(org.secret),
    });
    expect(res.json().status).toBe('revoked');
    // The revocation endpoint (RFC 7009) was called once; the row keeps no token.
    expect(revoked.length - calls).toBe(1);
    expect((await row(id)).encrypted_refresh_token).toBeNull();
  });

  it('a verifier that does not match the challenge fails the exchange: no account, error in the redirect', async () => {
    const redirect = await consent(await startConnect(t, org, projectId, 'youtube'), (q) =>
      q.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'),
    );
    const before = (await t.db.systemPool.query('SELECT count(*)::int AS n FROM social_accounts')).rows[0].n;
    const back = await followCallback(t, redirect);
    expect(back.status).toBe(303);
    expect(back.location?.searchParams.get('error')).toBe('platform_error');
    expect((await t.db.systemPool.query('SELECT count(*)::int AS n FROM social_accounts')).rows[0].n).toBe(
      before,
    );
  });

  it('invalid_grant from the authorization server → needs_reconnect', async () => {
    const back = await followCallback(t, await consent(await startConnect(t, org, projectId, 'youtube')));
    const id = back.location?.searchParams.get('social_account_ids') as string;
    const deny = (
      response: { body: unknown; statusCode: number },
      req: { body?: Record<string, string> },
    ) => {
      if (req.body?.grant_type === 'refresh_token') {
        response.statusCode = 400;
        response.body = { error: 'invalid_grant' };
      }
    };
    as.service.on('beforeResponse', deny);
    try {
      await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
      await expect(t.container.socialAccounts.tokens.credentials(org.id, id)).rejects.toMatchObject({
        kind: 'reauth',
      });
      expect((await row(id)).status).toBe('needs_reconnect');
    } finally {
      as.service.off('beforeResponse', deny);
    }
  });
});
