import { COPY_JSON, check, type LlmFake, wireFake } from '../llm-fake-common.ts';
import { startLocalHttpServer } from '../local-http-server.ts';

/**
 * Anthropic's Messages API (POST /v1/messages) as documented: `x-api-key`, `anthropic-version:
 * 2023-06-01`, a JSON body with `model`, `max_tokens` and `messages` (user/assistant turns; the
 * system prompt in `system`). Structured output arrives either as `output_config.format` (JSON
 * schema) or as a forced tool; the fake answers in the matching form. No Files or Batch endpoints.
 * Fails as Anthropic does: 429 `rate_limit_error`, 529 `overloaded_error`, 401 `authentication_error`.
 */
export async function startAnthropicFake(apiKey = 'sk-ant-test'): Promise<LlmFake> {
  const server = await startLocalHttpServer();
  return wireFake(server, (req, v, mode) => {
    check(v, req.method === 'POST' && req.url === '/v1/messages', `unexpected ${req.method} ${req.url}`);
    check(v, req.headers['x-api-key'] === apiKey, 'missing or wrong x-api-key');
    check(v, req.headers['anthropic-version'] === '2023-06-01', 'missing anthropic-version: 2023-06-01');
    check(v, !String(req.headers['anthropic-beta'] ?? '').includes('files-api'), 'Files API beta');
    const body = JSON.parse(req.body.toString('utf8'));
    check(v, typeof body.model === 'string' && Number.isInteger(body.max_tokens), 'no model or max_tokens');
    check(
      v,
      Array.isArray(body.messages) &&
        body.messages.every((m: { role: string }) => ['user', 'assistant'].includes(m.role)),
      'bad messages',
    );
    const tool = Array.isArray(body.tools) ? body.tools[0] : undefined;
    const format = body.output_config?.format ?? body.output_format;
    check(
      v,
      tool !== undefined || format?.type === 'json_schema',
      'no structured output (tool or json_schema format)',
    );
    const error = (status: number, type: string, message: string) => ({
      status,
      body: { type: 'error', error: { type, message } },
    });
    if (mode === 'auth') return error(401, 'authentication_error', 'invalid x-api-key');
    if (mode === 'rate_limit')
      return {
        ...error(429, 'rate_limit_error', 'Number of request tokens has exceeded your rate limit.'),
        headers: { 'retry-after': '1' },
      };
    if (mode === 'server_error') return error(529, 'overloaded_error', 'Overloaded');
    const text = mode === 'bad_output' ? 'I would rather not.' : COPY_JSON;
    const content =
      tool && mode !== 'bad_output'
        ? [{ type: 'tool_use', id: 'toolu_fake1', name: tool.name, input: JSON.parse(COPY_JSON) }]
        : [{ type: 'text', text }];
    return {
      delayMs: mode === 'slow' ? 5_000 : 0,
      body: {
        id: 'msg_fake1',
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: tool ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 50, output_tokens: 80 },
      },
    };
  });
}
