import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { EgressGateway } from '../../egress/egress-gateway.ts';

/**
 * Vertex AI's OAuth access token from a service-account key (GOOGLE_APPLICATION_CREDENTIALS): a
 * JWT signed with the key (RS256), exchanged at oauth2.googleapis.com/token (the JWT bearer grant),
 * through the egress gateway like every vendor call, so that google-auth-library never opens a
 * socket of its own. Cached until a minute before it expires.
 */
const TOKEN_URL = 'https://oauth2.googleapis.com/token';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export function createVertexTokenSource(deps: {
  egress: Pick<EgressGateway, 'request'>;
  credentialsFile: string | undefined;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  let cached: { token: string; expiresAt: number } | undefined;
  return async (ctx: { orgId: string; projectId: string | null }): Promise<string> => {
    if (cached && cached.expiresAt - 60_000 > now()) return cached.token;
    if (!deps.credentialsFile)
      throw new Error('Vertex AI needs GOOGLE_APPLICATION_CREDENTIALS (a service-account key file).');
    const key = JSON.parse(await readFile(deps.credentialsFile, 'utf8')) as {
      client_email?: string;
      private_key?: string;
    };
    if (!key.client_email || !key.private_key)
      throw new Error(
        'GOOGLE_APPLICATION_CREDENTIALS is not a service-account key (client_email, private_key).',
      );
    const iat = Math.floor(now() / 1000);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: key.client_email, scope: SCOPE, aud: TOKEN_URL, iat, exp: iat + 3600 })}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key).toString('base64url');
    const res = await deps.egress.request({
      orgId: ctx.orgId,
      projectId: ctx.projectId,
      vendor: 'google_vertex',
      purpose: 'oauth',
      dataClasses: ['oauth_credentials'],
      records: 1,
      method: 'POST',
      url: TOKEN_URL,
      body: {
        form: {
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: `${unsigned}.${signature}`,
        },
      },
      timeoutMs: 15_000,
    });
    const body = res.json<{ access_token?: string; expires_in?: number }>();
    if (!body.access_token) throw new Error('The token endpoint answered without an access token.');
    cached = { token: body.access_token, expiresAt: now() + (body.expires_in ?? 3600) * 1000 };
    return cached.token;
  };
}
