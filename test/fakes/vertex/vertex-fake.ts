import { COPY_JSON, check, type LlmFake, wireFake } from '../llm-fake-common.ts';
import { startLocalHttpServer } from '../local-http-server.ts';

/**
 * Vertex AI as documented, for both hosts the redirect map sends here: the OAuth token endpoint
 * (POST /token, the JWT bearer grant with a three-part RS256 assertion) and Gemini's
 * `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent` with
 * `Authorization: Bearer <that token>`, `contents` with user/model roles, JSON output via
 * `generationConfig.responseMimeType` — and, our rule, no tools (so no Google Search grounding, which
 * retains prompts for 30 days) and no `cachedContent`. Fails as Google does: 429 RESOURCE_EXHAUSTED,
 * 503 UNAVAILABLE, 401 UNAUTHENTICATED.
 */
export const VERTEX_TOKEN = 'ya29.fake-vertex-token';

export async function startVertexFake(project: string, location: string): Promise<LlmFake> {
  const server = await startLocalHttpServer();
  const prefix = `/v1/projects/${project}/locations/${location}/publishers/google/models/`;
  return wireFake(server, (req, v, mode) => {
    if (req.url === '/token') {
      const form = new URLSearchParams(req.body.toString('utf8'));
      check(v, req.method === 'POST', 'token: not POST');
      check(
        v,
        form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        'token: wrong grant_type',
      );
      const parts = (form.get('assertion') ?? '').split('.');
      check(v, parts.length === 3, 'token: assertion is not a JWT');
      const claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8') || '{}');
      check(
        v,
        claims.aud === 'https://oauth2.googleapis.com/token' && typeof claims.iss === 'string',
        'token: bad claims',
      );
      return { body: { access_token: VERTEX_TOKEN, expires_in: 3599, token_type: 'Bearer' } };
    }
    check(
      v,
      req.method === 'POST' && req.url.startsWith(prefix) && req.url.endsWith(':generateContent'),
      `unexpected ${req.method} ${req.url}`,
    );
    check(
      v,
      req.headers.authorization === `Bearer ${VERTEX_TOKEN}`,
      'missing or wrong Authorization: Bearer',
    );
    const body = JSON.parse(req.body.toString('utf8'));
    check(
      v,
      Array.isArray(body.contents) &&
        body.contents.every((c: { role: string }) => ['user', 'model'].includes(c.role)),
      'bad contents',
    );
    check(v, body.tools === undefined, 'tools sent (Search grounding is not allowed)');
    check(v, !JSON.stringify(body).includes('googleSearch'), 'googleSearch in the request');
    check(v, body.cachedContent === undefined, 'cachedContent sent');
    check(v, body.generationConfig?.responseMimeType === 'application/json', 'no JSON response type');
    const error = (status: number, s: string, message: string) => ({
      status,
      body: { error: { code: status, message, status: s } },
    });
    if (mode === 'auth')
      return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    if (mode === 'rate_limit') return error(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.');
    if (mode === 'server_error') return error(503, 'UNAVAILABLE', 'The service is currently unavailable.');
    const text = mode === 'bad_output' ? 'no json here' : COPY_JSON;
    return {
      delayMs: mode === 'slow' ? 5_000 : 0,
      body: {
        candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 50, candidatesTokenCount: 80, totalTokenCount: 130 },
        modelVersion: 'gemini-2.5-flash',
        responseId: 'fake-response-1',
      },
    };
  });
}
