import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EgressError } from '../../src/egress/egress-error.ts';
import { createEgressFetch } from '../../src/egress/egress-fetch.ts';
import { newId } from '../../src/lib/ids.ts';
import { type LocalHttpServer, startLocalHttpServer } from '../fakes/local-http-server.ts';
import { testGateway } from '../helpers/egress-harness.ts';

/**
 * The `fetch` that vendor SDKs (the AI SDK's providers) are given: it goes through the gateway, so
 * the allowlist, the content guard and the ledger apply to SDK calls too; vendor errors come back
 * as responses, refusals reject.
 */
describe('createEgressFetch', () => {
  let server: LocalHttpServer;
  let h: ReturnType<typeof testGateway>;
  const orgId = newId('org');
  const describeCall = () => ({
    orgId,
    projectId: null,
    vendor: 'openai',
    purpose: 'llm' as const,
    dataClasses: ['project_content' as const],
    records: 1,
  });
  beforeAll(async () => {
    server = await startLocalHttpServer();
    h = testGateway({ redirects: { 'api.openai.com': server.url } });
  });
  afterEach(() => server.reset());
  afterAll(async () => {
    await h.gateway.close();
    await server.close();
  });

  it('sends an SDK request through the gateway and answers a Response', async () => {
    const fetch = createEgressFetch(h.gateway, describeCall);
    server.answer({ body: { id: 'resp_1' }, headers: { 'x-request-id': 'abc' } });
    const res = await fetch('https://api.openai.com/v1/responses', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'm', input: 'A caption for sandals' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'resp_1' });
    expect(res.headers.get('x-request-id')).toBe('abc');
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(server.requests[0]?.body.toString() ?? '')).toEqual({
      model: 'm',
      input: 'A caption for sandals',
    });
    expect(h.rows.at(-1)).toMatchObject({
      vendor: 'openai',
      host: 'api.openai.com',
      purpose: 'llm',
      outcome: 'ok',
    });
  });

  it('answers a vendor error as a Response (status, headers, body), as fetch does', async () => {
    const fetch = createEgressFetch(h.gateway, describeCall);
    server.answer({
      status: 429,
      headers: { 'retry-after': '120' },
      body: { error: { type: 'rate_limit' } },
    });
    const res = await fetch('https://api.openai.com/v1/responses', { method: 'POST', body: '{}' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('120');
    expect(await res.json()).toEqual({ error: { type: 'rate_limit' } });
  });

  it('rejects what the gateway refuses: another host, a canary in the prompt, a streamed body', async () => {
    const fetch = createEgressFetch(h.gateway, describeCall);
    await expect(fetch('https://api.example.com/v1/x', { method: 'POST', body: '{}' })).rejects.toMatchObject(
      {
        code: 'host_not_allowed',
      },
    );
    await expect(
      fetch('https://api.openai.com/v1/responses', {
        method: 'POST',
        body: JSON.stringify({ input: 'Write to canary.person@example.com' }),
      }),
    ).rejects.toBeInstanceOf(EgressError);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{}'));
        c.close();
      },
    });
    await expect(
      fetch('https://api.openai.com/v1/responses', {
        method: 'POST',
        body: stream,
        duplex: 'half',
      } as RequestInit),
    ).rejects.toMatchObject({ code: 'invalid_call' });
    expect(server.connections()).toBe(0);
  });
});
