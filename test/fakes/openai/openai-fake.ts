import { COPY_JSON, check, type LlmFake, wireFake } from '../llm-fake-common.ts';
import { startLocalHttpServer } from '../local-http-server.ts';

/**
 * OpenAI's Responses API (POST /v1/responses) as documented: `Authorization: Bearer`, a JSON body
 * with `model` and `input`, structured output as `text.format` of type `json_schema`, and — our rule —
 * `store: false` on every call (the API stores responses by default). Fails as OpenAI does: 429
 * `rate_limit_exceeded`, 500 `server_error`, 401 `invalid_api_key`, with `{"error": {...}}` bodies.
 */
export async function startOpenAiFake(apiKey = 'sk-test-openai'): Promise<LlmFake> {
  const server = await startLocalHttpServer();
  return wireFake(server, (req, v, mode) => {
    check(v, req.method === 'POST' && req.url === '/v1/responses', `unexpected ${req.method} ${req.url}`);
    check(v, req.headers.authorization === `Bearer ${apiKey}`, 'missing or wrong Authorization: Bearer');
    check(v, String(req.headers['content-type']).startsWith('application/json'), 'body is not JSON');
    const body = JSON.parse(req.body.toString('utf8'));
    check(v, typeof body.model === 'string' && body.model.length > 0, 'no model');
    check(v, body.input !== undefined, 'no input');
    check(v, body.store === false, 'store is not false');
    check(v, body.previous_response_id === undefined && body.conversation === undefined, 'stateful request');
    check(
      v,
      body.text?.format?.type === 'json_schema' && typeof body.text.format.schema === 'object',
      'no json_schema format',
    );
    check(v, body.tools === undefined || body.tools.length === 0, 'tools sent');
    if (mode === 'auth')
      return {
        status: 401,
        body: {
          error: {
            message: 'Incorrect API key provided.',
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        },
      };
    if (mode === 'rate_limit')
      return {
        status: 429,
        headers: { 'retry-after': '1' },
        body: { error: { message: 'Rate limit reached.', type: 'requests', code: 'rate_limit_exceeded' } },
      };
    if (mode === 'server_error')
      return {
        status: 500,
        body: { error: { message: 'The server had an error.', type: 'server_error', code: null } },
      };
    const text = mode === 'bad_output' ? 'Sorry, I cannot help with that.' : COPY_JSON;
    return {
      delayMs: mode === 'slow' ? 5_000 : 0,
      body: {
        id: 'resp_fake1',
        object: 'response',
        created_at: Math.floor(Date.now() / 1000),
        model: body.model,
        status: 'completed',
        output: [
          {
            type: 'message',
            id: 'msg_fake1',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text, annotations: [] }],
          },
        ],
        usage: { input_tokens: 50, output_tokens: 80, total_tokens: 130 },
      },
    };
  });
}
