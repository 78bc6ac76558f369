import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseEgressRedirects } from '../../src/config.ts';
import type { EnabledDestination } from '../../src/egress/egress-allowlist.ts';
import { EgressError } from '../../src/egress/egress-error.ts';
import { generateKeyEncryptionKey } from '../../src/lib/envelope-crypto.ts';
import { type LocalHttpServer, startLocalHttpServer } from '../fakes/local-http-server.ts';
import { llmCall, testGateway } from '../helpers/egress-harness.ts';

/**
 * The egress gateway against a real HTTP server on 127.0.0.1 (vendor hosts are sent there by the
 * redirect map, as LAYERS_EGRESS_REDIRECT does): the allowlist refuses before a socket opens, the
 * description is checked, retries are bounded and honour Retry-After, and the ledger records the
 * real host with counts only.
 */
async function refusal(p: Promise<unknown>): Promise<EgressError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EgressError);
  return error as EgressError;
}

describe('the egress allowlist', () => {
  let server: LocalHttpServer;
  beforeAll(async () => {
    server = await startLocalHttpServer();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  it('refuses an unlisted host before any connection is opened, counted and logged by host only', async () => {
    const h = testGateway({ redirects: { 'evil.example': server.url, 'api.openai.com': server.url } });
    const attempts = [
      // the listening server itself, by address
      llmCall({ url: `https://127.0.0.1:${server.port}/v1/responses?q=secret-query` }),
      llmCall({ url: `http://127.0.0.1:${server.port}/v1/responses` }),
      // a host the redirect map would send to the server, but no sub-processor names
      llmCall({ url: 'https://evil.example/v1/responses' }),
      // a listed host, claimed by another vendor than the call names
      llmCall({ vendor: 'anthropic' }),
      // a vendor the registry does not know
      llmCall({ vendor: 'unknown_vendor' }),
      // a name that merely ends like a listed host
      llmCall({ url: 'https://api.openai.com.evil.example/v1/responses' }),
    ];
    for (const call of attempts) {
      const e = await refusal(h.gateway.request(call));
      expect(e.code, call.url).toBe('host_not_allowed');
      expect(e.refused).toBe(true);
      expect(await e.recorded).toBe(false);
    }
    expect(server.connections()).toBe(0);
    expect(server.requests).toEqual([]);
    expect(h.rows).toEqual([]);
    expect(await h.counter('layers_egress_refusals_total', { reason: 'host_not_allowed' })).toBe(
      attempts.length,
    );
    expect(await h.counter('layers_egress_refusals_total', { vendor: 'unregistered' })).toBe(1);
    const refused = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'egress call refused');
    expect(refused.map((l) => l.host)).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      'evil.example',
      'api.openai.com',
      'api.openai.com',
      'api.openai.com.evil.example',
    ]);
    const text = h.logs.join('\n');
    expect(text).not.toContain('secret-query');
    expect(text).not.toContain('/v1/responses');
    expect(text).not.toContain('summer sale');

    // The same server is reachable through a listed host (so "nothing connected" above means refused).
    await h.gateway.request(llmCall());
    expect(server.connections()).toBe(1);
    await h.gateway.close();
  });

  it('refuses what the vendor is not listed for, and descriptions that are wrong, before a socket opens', async () => {
    const h = testGateway({ redirects: { 'api.openai.com': server.url, 'graph.facebook.com': server.url } });
    const cases: [Parameters<typeof llmCall>[0], string][] = [
      [{ purpose: 'publishing', dataClasses: ['post_content'] }, 'purpose_not_allowed'],
      [{ dataClasses: ['hashed_identifiers'] }, 'purpose_not_allowed'],
      [{ dataClasses: ['made_up' as never] }, 'purpose_not_allowed'],
      [{ url: 'http://api.openai.com/v1/responses' }, 'invalid_call'],
      [{ url: 'https://api.openai.com:8443/v1/responses' }, 'invalid_call'],
      [{ url: 'https://user:pw@api.openai.com/v1/responses' }, 'invalid_call'],
      [{ records: -1 }, 'invalid_call'],
      [{ records: 1.5 }, 'invalid_call'],
      [{ orgId: 'not-an-org' }, 'invalid_call'],
      [{ body: { bytes: new Uint8Array([1, 2, 3]), contentType: 'image/png' } }, 'invalid_call'],
      [{ url: 'not a url' }, 'invalid_call'],
    ];
    for (const [overrides, code] of cases) {
      const e = await refusal(h.gateway.request(llmCall(overrides)));
      expect(e.code, JSON.stringify(overrides)).toBe(code);
    }
    // capi: listed for Meta, but only to a destination the project enabled, and none exist today.
    const capi = llmCall({
      vendor: 'meta',
      purpose: 'capi',
      dataClasses: ['conversion_events'],
      url: 'https://graph.facebook.com/v25.0/123/events',
      body: { json: { data: [{ event_name: 'Purchase', event_time: 1764590000 }] } },
    });
    expect((await refusal(h.gateway.request(capi))).code).toBe('host_not_allowed');
    expect(server.connections()).toBe(0);
    expect(h.rows).toEqual([]);
    await h.gateway.close();
  });

  it('checks the org and project ids of every call, also right after a valid call of the same tenant', async () => {
    const h = testGateway({ redirects: { 'api.openai.com': server.url } });
    const ok = llmCall();
    expect((await h.gateway.request(ok)).status).toBe(200);
    for (const overrides of [
      { projectId: 'not-a-project' },
      { orgId: `${ok.orgId}x` },
      { orgId: ok.projectId as string },
      { projectId: ok.orgId },
    ]) {
      const e = await refusal(h.gateway.request({ ...ok, ...overrides }));
      expect(e.code, JSON.stringify(overrides)).toBe('invalid_call');
    }
    expect((await h.gateway.request({ ...ok, projectId: null })).status).toBe(200);
    expect(server.requests).toHaveLength(2);
    await h.gateway.close();
  });

  it('sends capi calls to a destination the project enabled (the DestinationLookup seam)', async () => {
    const asked: { orgId: string; projectId: string | null }[] = [];
    const meta: EnabledDestination = { type: 'meta_capi', vendor: 'meta', hosts: ['graph.facebook.com'] };
    const h = testGateway({
      redirects: { 'graph.facebook.com': server.url, 'business-api.tiktok.com': server.url },
      destinations: async (scope) => {
        asked.push(scope);
        return [meta];
      },
    });
    const capi = llmCall({
      vendor: 'meta',
      purpose: 'capi',
      dataClasses: ['conversion_events'],
      url: 'https://graph.facebook.com/v25.0/123/events',
      body: { json: { data: [{ event_name: 'Purchase', event_time: 1764590000 }] } },
    });
    const res = await h.gateway.request(capi);
    expect(res.status).toBe(200);
    expect(asked).toEqual([{ orgId: capi.orgId, projectId: capi.projectId }]);
    // TikTok is a listed capi vendor, but this project enabled no TikTok destination.
    const tiktok = {
      ...capi,
      vendor: 'tiktok',
      url: 'https://business-api.tiktok.com/open_api/v1.3/event/track/',
    };
    expect((await refusal(h.gateway.request(tiktok))).code).toBe('host_not_allowed');
    expect(server.requests.map((r) => r.url)).toEqual(['/v25.0/123/events']);
    await h.gateway.close();
  });

  it('records the real host and counts, never the body, query, path or header values', async () => {
    const h = testGateway({ redirects: { 'api.openai.com': `${server.url}/prefix` } });
    server.answer({ body: { id: 'resp_1', output: 'A caption' } });
    const call = llmCall({
      url: 'https://api.openai.com/v1/responses?trace=q-value-123',
      headers: { authorization: 'Bearer sk-header-value-123' },
      records: 3,
    });
    const res = await h.gateway.request(call);
    expect(res.json()).toEqual({ id: 'resp_1', output: 'A caption' });
    expect(await res.recorded).toBe(true);
    expect(server.requests[0]?.url).toBe('/prefix/v1/responses?trace=q-value-123');
    expect(server.requests[0]?.headers.authorization).toBe('Bearer sk-header-value-123');
    const sent = server.requests[0]?.body.length ?? 0;
    expect(h.rows).toHaveLength(1);
    expect(h.rows[0]).toMatchObject({
      org_id: call.orgId,
      project_id: call.projectId,
      vendor: 'openai',
      host: 'api.openai.com',
      purpose: 'llm',
      data_classes: ['project_content'],
      records: 3,
      bytes_out: sent,
      bytes_in: res.body.length,
      attempts: 1,
      status: 200,
      outcome: 'ok',
    });
    const row = JSON.stringify(h.rows);
    for (const leak of ['q-value-123', 'sk-header-value-123', 'summer sale', '/v1/responses', '127.0.0.1'])
      expect(row).not.toContain(leak);
    // Counted and timed by vendor, purpose (and outcome), as /metrics reads them.
    await h.gateway.request(call);
    const text = await h.registry.metrics();
    expect(text).toContain('layers_egress_calls_total{vendor="openai",purpose="llm",outcome="ok"} 2');
    expect(text).toContain('layers_egress_call_duration_seconds_count{vendor="openai",purpose="llm"} 2');
    expect(text).toContain(
      'layers_egress_call_duration_seconds_bucket{vendor="openai",purpose="llm",le="+Inf"} 2',
    );
    await h.gateway.close();
  });

  it('answers a call (response or error) only once its ledger row is committed, unless told not to wait', async () => {
    // A ledger whose commits the test releases: what the gateway answers before one is a call the
    // caller could act on while a crash would still lose its row.
    const commits: ((ok: boolean) => void)[] = [];
    const h = testGateway({
      redirects: { 'api.openai.com': server.url },
      ledger: {
        enqueue: () => commits.length,
        recorded: () => new Promise<boolean>((resolve) => commits.push(resolve)),
      },
    });
    const settled = (p: Promise<unknown>) => {
      const state = { done: false };
      p.then(
        () => {
          state.done = true;
        },
        () => {
          state.done = true;
        },
      );
      return state;
    };
    // Until the vendor has had the request, and then long enough for an early answer to arrive.
    const untilSent = async (n: number) => {
      for (let i = 0; i < 200 && server.requests.length < n; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
    };

    server.answer({ body: { id: 'resp_1' } });
    const ok = h.gateway.request(llmCall());
    const okState = settled(ok);
    await untilSent(1);
    expect(server.requests).toHaveLength(1);
    expect(okState.done).toBe(false);
    expect(commits).toHaveLength(1);
    commits[0]?.(true);
    expect((await ok).status).toBe(200);

    // A failed call may have reached the vendor: its error waits for its row too.
    server.answer({ status: 400, body: { error: { message: 'bad' } } });
    const failed = h.gateway.request(llmCall());
    const failedState = settled(failed);
    await untilSent(2);
    expect(failedState.done).toBe(false);
    expect(commits).toHaveLength(2);
    commits[1]?.(true);
    const error = await refusal(failed);
    expect(error.code).toBe('http_error');
    expect(await error.recorded).toBe(true);

    // accounted: false answers first; its row is still the caller's to await.
    server.answer({ body: { id: 'resp_2' } });
    const early = await h.gateway.request(llmCall({ accounted: false }));
    expect(early.status).toBe(200);
    expect(commits).toHaveLength(2);
    const row = early.recorded;
    expect(commits).toHaveLength(3);
    commits[2]?.(false);
    expect(await row).toBe(false);
    await h.gateway.close();
  });

  it('sends a redirected host to its fake, whose base URL’s path (with a trailing slash or not) is a prefix', async () => {
    server.answer({ body: {} });
    for (const base of [server.url, `${server.url}/`, `${server.url}/fake`, `${server.url}/fake/`]) {
      const h = testGateway({ redirects: { 'api.openai.com': base } });
      await h.gateway.request(llmCall({ url: 'https://api.openai.com/v1/responses?x=1' }));
      await h.gateway.close();
    }
    expect(server.requests.map((r) => r.url)).toEqual([
      '/v1/responses?x=1',
      '/v1/responses?x=1',
      '/fake/v1/responses?x=1',
      '/fake/v1/responses?x=1',
    ]);
  });

  it('adds credentials after the content guard (a SHA-256 HMAC there is ours, not an identifier)', async () => {
    const h = testGateway({ redirects: { 'graph.facebook.com': server.url } });
    const proof = 'a'.repeat(64);
    const call = llmCall({
      vendor: 'meta',
      purpose: 'metrics',
      dataClasses: ['platform_ids'],
      method: 'GET',
      url: 'https://graph.facebook.com/v25.0/17900000000000000/insights?metric=views',
      body: undefined,
      credentials: { query: { access_token: 'EAAB-token', appsecret_proof: proof } },
    });
    await h.gateway.request(call);
    expect(server.requests[0]?.url).toContain(`appsecret_proof=${proof}`);
    // The same digest in the query proper is content, and refused.
    const inQuery = { ...call, url: `${call.url}&x=${proof}`, credentials: undefined };
    expect((await refusal(h.gateway.request(inQuery))).code).toBe('content_refused');
    expect(JSON.stringify(h.rows)).not.toContain('EAAB-token');
    await h.gateway.close();
  });
});

describe('timeouts and bounded retries', () => {
  let server: LocalHttpServer;
  beforeAll(async () => {
    server = await startLocalHttpServer();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());
  const redirects = () => ({ 'api.openai.com': server.url, 'graph.facebook.com': server.url });

  it('retries an idempotent call on 5xx with backoff, at most maxAttempts times', async () => {
    const h = testGateway({ redirects: redirects() });
    server.answer((_r, i) => (i < 2 ? { status: 503, body: { error: 'busy' } } : { body: { ok: 1 } }));
    const res = await h.gateway.request(llmCall({ method: 'GET', body: undefined }));
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(3);
    expect(h.sleeps).toHaveLength(2);
    expect(h.rows[0]).toMatchObject({ attempts: 3, status: 200, outcome: 'ok' });

    server.reset();
    server.answer({ status: 503, body: { error: 'busy' } });
    const e = await refusal(h.gateway.request(llmCall({ method: 'GET', body: undefined, maxAttempts: 2 })));
    expect(e).toMatchObject({
      code: 'http_error',
      status: 503,
      attempts: 2,
      refused: false,
      retryable: true,
    });
    expect(server.requests).toHaveLength(2);
    expect(h.rows[1]).toMatchObject({ attempts: 2, status: 503, outcome: 'http_error' });
    await h.gateway.close();
  });

  it('does not repeat a non-idempotent POST that reached the vendor', async () => {
    const h = testGateway({ redirects: redirects() });
    server.answer({ status: 502, body: {} });
    const e = await refusal(h.gateway.request(llmCall()));
    expect(e).toMatchObject({ code: 'http_error', status: 502, attempts: 1 });
    expect(server.requests).toHaveLength(1);
    // …unless the caller says it is idempotent (a vendor idempotency key).
    server.reset();
    await refusal(h.gateway.request(llmCall({ idempotent: true })));
    expect(server.requests).toHaveLength(3);
    await h.gateway.close();
  });

  it('honours Retry-After, and hands a long one to the caller as rate_limited', async () => {
    const h = testGateway({ redirects: redirects() });
    server.answer((_r, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { body: {} }));
    const res = await h.gateway.request(llmCall({ method: 'GET', body: undefined }));
    expect(res.attempts).toBe(2);
    expect(h.sleeps).toEqual([2000]);

    server.reset();
    server.answer({ status: 429, headers: { 'retry-after': '120' }, body: { error: { code: 4 } } });
    const e = await refusal(h.gateway.request(llmCall({ method: 'GET', body: undefined })));
    expect(e).toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfterMs: 120_000,
      attempts: 1,
      retryable: true,
    });
    expect(JSON.parse(e.body?.toString() ?? '')).toEqual({ error: { code: 4 } });
    expect(h.sleeps).toEqual([2000]);
    await h.gateway.close();
  });

  it('gives up at the deadline with a timeout, and fails a response larger than allowed', async () => {
    const h = testGateway({ redirects: redirects() });
    server.answer({ delayMs: 2_000, body: {} });
    const e = await refusal(h.gateway.request(llmCall({ timeoutMs: 150 })));
    expect(e.code).toBe('timeout');
    expect(h.rows[0]).toMatchObject({ outcome: 'timeout', status: null });

    server.answer({ body: 'x'.repeat(5_000) });
    const big = await refusal(h.gateway.request(llmCall({ maxResponseBytes: 1_000 })));
    expect(big.code).toBe('response_too_large');
    // Without a Content-Length, counted as it arrives.
    server.answer({ body: 'x'.repeat(5_000), chunked: true });
    expect((await refusal(h.gateway.request(llmCall({ maxResponseBytes: 1_000 })))).code).toBe(
      'response_too_large',
    );
    const fits = await h.gateway.request(llmCall({ maxResponseBytes: 5_000 }));
    expect(fits.body.length).toBe(5_000);
    server.answer({ body: 'y'.repeat(5_000), chunked: true });
    const chunked = await h.gateway.request(llmCall({ maxResponseBytes: 5_000 }));
    expect(chunked.body.toString()).toBe('y'.repeat(5_000));
    // A HEAD answer's Content-Length is the resource's size: no body follows, nothing is too large.
    server.answer({ headers: { 'content-length': '5000' } });
    const head = await h.gateway.request(
      llmCall({ method: 'HEAD', body: undefined, maxResponseBytes: 1_000 }),
    );
    expect(head.headers['content-length']).toBe('5000');
    expect(head.body.length).toBe(0);
    await h.gateway.close();
  });

  it('fails a call still waiting for a connection at its deadline at once, and never sends it', async () => {
    const oneConnection = new Agent({ connections: 1 });
    const h = testGateway({ redirects: redirects(), dispatcher: oneConnection });
    try {
      server.answer({ delayMs: 3_000, body: { slow: true } });
      const settled: string[] = [];
      const first = h.gateway.request(llmCall({ timeoutMs: 10_000, maxAttempts: 1 }));
      void first.then(() => settled.push('first'));
      const e = await refusal(h.gateway.request(llmCall({ timeoutMs: 150, maxAttempts: 1 })));
      settled.push('late');
      expect(e.code).toBe('timeout');
      expect((await first).json()).toEqual({ slow: true });
      // The late call failed at its own deadline, not once the connection came free.
      expect(settled).toEqual(['late', 'first']);
      // The connection was free after the first call: the late one was dropped, not written.
      await new Promise((r) => setTimeout(r, 100));
      expect(server.requests).toHaveLength(1);
    } finally {
      await h.gateway.close();
      await oneConnection.close();
    }
  });

  it('cuts a body that keeps arriving at the call’s deadline (no idle timeout would)', async () => {
    const drip = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tick = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(tick));
      setTimeout(() => res.end(), 3_000).unref();
    });
    await new Promise<void>((r) => drip.listen(0, '127.0.0.1', () => r()));
    const { port } = drip.address() as AddressInfo;
    const h = testGateway({ redirects: { 'api.openai.com': `http://127.0.0.1:${port}` } });
    try {
      const e = await refusal(h.gateway.request(llmCall({ timeoutMs: 300, maxAttempts: 1 })));
      expect(e.code).toBe('timeout');
      expect(h.rows[0]).toMatchObject({ outcome: 'timeout', status: null, attempts: 1 });
    } finally {
      await h.gateway.close();
      drip.closeAllConnections();
      await new Promise((r) => drip.close(r));
    }
  });

  it('retries a refused connection for any call: nothing was sent', async () => {
    const closed = await startLocalHttpServer();
    const url = closed.url;
    await closed.close();
    const h = testGateway({ redirects: { 'api.openai.com': url } });
    const e = await refusal(h.gateway.request(llmCall({ maxAttempts: 2 })));
    expect(e).toMatchObject({ code: 'network_error', attempts: 2 });
    expect(h.rows[0]).toMatchObject({ outcome: 'network_error', bytes_out: 0, attempts: 2 });
    await h.gateway.close();
  });
});

describe('LAYERS_EGRESS_REDIRECT', () => {
  const production = { LAYERS_ENV: 'production', LAYERS_ENCRYPTION_KEY: generateKeyEncryptionKey() };

  it('is a config error at start-up with LAYERS_ENV=production', () => {
    expect(() =>
      loadConfig({ ...production, LAYERS_EGRESS_REDIRECT: 'graph.facebook.com=http://127.0.0.1:9001' }),
    ).toThrow(/LAYERS_EGRESS_REDIRECT is for development and tests only/);
    expect(() => loadConfig({ ...production, LAYERS_EGRESS_REDIRECT: 'x=y' })).toThrow(ConfigError);
    expect(loadConfig(production).egressRedirects.size).toBe(0);
  });

  it('parses host=url pairs and refuses anything else', () => {
    const map = parseEgressRedirects(
      ' graph.facebook.com=http://127.0.0.1:9001 , OPEN.tiktokapis.com=http://127.0.0.1:9002/tt/ ',
    );
    expect([...map]).toEqual([
      ['graph.facebook.com', 'http://127.0.0.1:9001'],
      ['open.tiktokapis.com', 'http://127.0.0.1:9002/tt'],
    ]);
    for (const bad of [
      'graph.facebook.com',
      '=http://x',
      'graph.facebook.com=ftp://x',
      'a b=http://x',
      'h.com=http://x?q=1',
    ])
      expect(() => parseEgressRedirects(bad), bad).toThrow(ConfigError);
    expect(
      loadConfig({ LAYERS_EGRESS_REDIRECT: 'api.openai.com=http://127.0.0.1:1' }).egressRedirects.size,
    ).toBe(1);
  });
});
