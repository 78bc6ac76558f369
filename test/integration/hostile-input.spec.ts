import { connect } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';
import { bearer, createSdkProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Input an attacker (or a careless client) sends: NUL and lone surrogates, nesting deep enough to
 * overflow a recursive walk, path params the router refuses. None of it may answer 5xx, and every
 * error, including the router's own, is in the contract's shape without echoing the path or query.
 */
const ERROR_KEYS = ['code', 'message', 'param', 'request_id', 'type'];

function expectContractError(res: LightMyRequestResponse, status: number, leaked: string[] = []) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['error']);
  for (const key of Object.keys(body.error)) expect(ERROR_KEYS).toContain(key);
  expect(body.error).toMatchObject({
    type: expect.any(String),
    code: expect.any(String),
    message: expect.any(String),
    request_id: expect.stringMatching(/^req_/),
  });
  expect(res.headers['request-id']).toBe(body.error.request_id);
  for (const text of leaked) expect(res.body).not.toContain(text);
  return body.error as { code: string; param?: string };
}

describe('hostile input never answers 5xx', () => {
  const s = useSdkProjectApp();

  const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    s.t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...bearer(s.org.secret), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it('refuses NUL in path parameters with a 400 naming the parameter', async () => {
    const p = s.projectId;
    for (const [method, url] of [
      ['GET', `/v1/projects/${p}/events/users/a%00b`],
      ['DELETE', `/v1/projects/${p}/events/users/a%00b`],
      ['GET', `/v1/projects/${p}/users/a%00b`],
      ['DELETE', `/v1/projects/${p}/suppressions/a%00b`],
    ] as const) {
      const error = expectContractError(await call(method, url), 400);
      expect(error.param, `${method} ${url}`).toBe('userId');
    }
  });

  it('refuses NUL in query parameters with a 400 naming the parameter', async () => {
    for (const [url, param] of [
      ['/v1/projects?starting_after=%00', 'starting_after'],
      ['/v1/api-keys?ending_before=x%00', 'ending_before'],
      ['/v1/audit-log?action=%00', 'action'],
      ['/v1/audit-log?resource_id=proj_%00', 'resource_id'],
      [`/v1/projects/${s.projectId}/suppressions?starting_after=%00`, 'starting_after'],
    ] as const) {
      const error = expectContractError(await call('GET', url), 400);
      expect(error.param, url).toBe(param);
    }
  });

  it('refuses numbers that overflow to Infinity, in the query and in bodies, with a 400', async () => {
    for (const url of [
      '/v1/projects?limit=1e309',
      '/v1/api-keys?limit=Infinity',
      '/v1/audit-log?limit=-1e400',
    ]) {
      const error = expectContractError(await call('GET', url), 400);
      expect(error.param, url).toBe('limit');
    }
    const res = await s.t.app.inject({
      method: 'PUT',
      url: `/admin/v1/orgs/${s.org.id}/retention`,
      headers: {
        authorization: 'Bearer test-admin-token-0123456789abcdef',
        'content-type': 'application/json',
      },
      payload: `{"overrides": {"request_log": ${'9'.repeat(400)}}}`,
    });
    expectContractError(res, 400);
    // An exponent that stays finite is an ordinary number.
    expect((await call('GET', '/v1/projects?limit=1e1')).statusCode).toBe(200);
  });

  it('refuses lone surrogates in names and descriptions with a 400', async () => {
    const project = await call('POST', '/v1/projects', { name: 'ok' });
    const webhook = await call('POST', '/v1/webhooks', {
      url: 'https://hooks.example.com/x',
      events: ['*'],
    });
    for (const [method, url, payload] of [
      ['POST', '/v1/projects', { name: 'a\ud800b' }],
      ['PATCH', `/v1/projects/${project.json().id}`, { name: '\udfff' }],
      ['POST', '/v1/webhooks', { url: 'https://hooks.example.com/y', events: ['*'], description: 'x\ud83d' }],
      ['PATCH', `/v1/webhooks/${webhook.json().id}`, { description: 'x\ude00y' }],
      ['POST', '/v1/api-keys', { name: '\ud800', type: 'secret' }],
    ] as const) {
      expectContractError(await call(method, url, payload), 400);
    }
    // A well-formed pair is fine.
    expect((await call('POST', '/v1/projects', { name: 'ok \ud83d\ude00' })).statusCode).toBe(201);
  });

  it('refuses a deeply nested event in a batch over 32 KB with a 4xx, not a 500', async () => {
    const depth = 20_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const filler = trackEvent('u_filler', 'pad', { pad: 'x'.repeat(8_000) });
    const payload = `{"batch":[${JSON.stringify(filler)},{"event_id":"e1","type":"track","event":"x","user_id":"u","timestamp":"${new Date().toISOString()}","properties":{"deep":${deep}}}]}`;
    expect(payload.length).toBeGreaterThan(32 * 1024);
    const res = await s.t.app.inject({
      method: 'POST',
      url: '/v1/sdk/events',
      headers: { ...bearer(s.pk), 'content-type': 'application/json' },
      payload,
    });
    expectContractError(res, 400);
  });
});

describe('every user id that ingest accepts is reachable by the DSR routes', () => {
  const s = useSdkProjectApp();

  it('exports, erases with suppression and lifts the suppression of a 256-character user id', async () => {
    // The longest id ingest takes, with characters that need percent-encoding (3- and 4-byte UTF-8).
    const userId = `u/?#%&+ é€😀${'ü'.repeat(256)}`.slice(0, 256);
    expect(userId.length).toBe(256);
    expect((await sendEvents(s.t.app, s.pk, [trackEvent(userId, 'purchase')])).accepted).toBe(1);
    const path = `/v1/projects/${s.projectId}/events/users/${encodeURIComponent(userId)}`;
    expect(path.length).toBeGreaterThan(1500);
    const headers = bearer(s.org.secret);

    const exported = await s.t.app.inject({ method: 'GET', url: path, headers });
    expect(exported.statusCode, exported.body).toBe(200);
    expect(exported.json().user_id).toBe(userId);
    expect(exported.json().events).toHaveLength(1);

    const profile = await s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${s.projectId}/users/${encodeURIComponent(userId)}`,
      headers,
    });
    expect(profile.statusCode, profile.body).not.toBe(414);

    const erased = await s.t.app.inject({ method: 'DELETE', url: `${path}?suppress=true`, headers });
    expect(erased.statusCode, erased.body).toBe(202);
    await s.t.container.erasure.run(s.org.id, erased.json().id);
    const gone = await s.t.app.inject({ method: 'GET', url: path, headers });
    expect(gone.statusCode, gone.body).toBe(404);

    const lifted = await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${s.projectId}/suppressions/${encodeURIComponent(userId)}`,
      headers,
    });
    expect(lifted.statusCode, lifted.body).toBe(200);
  });

  it('refuses the user ids "." and "..", which no HTTP client can put in a path segment', async () => {
    // A URL's "." and ".." segments (also as %2E) are resolved away by every client (WHATWG URL, curl):
    // the DSR routes could never be reached for such a user, so ingest must not accept them.
    expect(new URL('http://h/v1/projects/p/events/users/%2E%2E').pathname).toBe('/v1/projects/p/events/');
    const result = await sendEvents(s.t.app, s.pk, [
      trackEvent('.', 'purchase'),
      trackEvent('..', 'purchase'),
      trackEvent('...', 'purchase'),
    ]);
    expect(result.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'invalid_field'],
      [1, 'invalid_field'],
    ]);
    expect(result.accepted).toBe(1);
  });

  it('answers a path parameter longer than any id with an error in the contract, not echoing the path', async () => {
    const userId = `canary-user-${'z'.repeat(3000)}`;
    const res = await s.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${s.projectId}/events/users/${userId}?q=canary-query`,
      headers: bearer(s.org.secret),
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expectContractError(res, res.statusCode, ['canary', s.projectId]);
  });
});

describe('router-level errors follow the error contract and never echo the path or query', () => {
  const s = useSdkProjectApp();

  const secret = () => bearer(s.org.secret);

  it('malformed percent-encoding in the path → 400', async () => {
    for (const url of [
      `/v1/projects/canary%zz`,
      `/v1/projects/${'%ED%A0%80'}canary`,
      `/v1/projects/${s.projectId}/events/users/canary%E0%A4%A?x=canary`,
    ]) {
      const res = await s.t.app.inject({ method: 'GET', url, headers: secret() });
      expectContractError(res, 400, ['canary', '%']);
    }
  });

  it('a path the docs will not serve (a backslash) → 404, not 500', async () => {
    for (const url of ['/docs/static/%5C', '/docs/static/..%5C..%5Cpackage.json']) {
      expectContractError(await s.t.app.inject({ method: 'GET', url }), 404, ['package.json']);
    }
  });

  it('unknown route → 404, unsupported media type → 415, bad JSON → 400, too large → 413', async () => {
    expectContractError(
      await s.t.app.inject({ method: 'GET', url: '/v1/canary-route?q=canary', headers: secret() }),
      404,
      ['canary'],
    );
    const bodies: [contentType: string, payload: string, status: number][] = [
      ['text/plain', 'canary', 415],
      ['application/json', '{"name": canary', 400],
      ['application/json', JSON.stringify({ name: `canary${'x'.repeat(1024 * 1024)}` }), 413],
    ];
    for (const [contentType, payload, status] of bodies) {
      expectContractError(
        await s.t.app.inject({
          method: 'POST',
          url: '/v1/projects?q=canary',
          headers: { ...secret(), 'content-type': contentType },
          payload,
        }),
        status,
        ['canary'],
      );
    }
  });
});

describe('malformed HTTP on a real socket is answered in the error contract', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(() => t.close());

  /** Writes raw bytes and reads until the server closes the connection. */
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(request));
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk) => {
        answer += chunk;
      });
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });

  it('a request line that is not HTTP → 400 without echoing it', async () => {
    const answer = await raw('GET /v1/canary\u0001path HTTP/1.1\r\nHost: x\r\n\r\n');
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/\r\nRequest-Id: req_/);
    const parsed = JSON.parse(body);
    expect(parsed.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect(parsed.error.request_id).toMatch(/^req_/);
    expect(answer).not.toContain('canary');
  });

  it('headers too large → 431 in the contract', async () => {
    const answer = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Canary: ${'c'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1] as string).error.code).toBe('invalid_request');
  });
});

describe('a request that arrives while the server drains is answered in the error contract', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => t.close());

  it('→ 503 service_unavailable with Connection: close, not Fastify’s own body', async () => {
    const sdk = await createSdkProject(t.app);
    const port = (t.app.server.address() as { port: number }).port;
    const body = JSON.stringify({ batch: [trackEvent('u_drain', 'purchase')] });
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    // A first request in flight (its body half sent) keeps the connection open through close().
    const inFlight = new Promise((resolve) => t.app.server.once('request', resolve));
    socket.write(
      `POST /v1/sdk/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sdk.publishableKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await inFlight;
    const closing = t.app.close();
    // The rest of the first request, then a second one pipelined behind it, during the drain.
    socket.write(
      `${body.slice(10)}GET /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sdk.org.secret}\r\n\r\n`,
    );
    await closing;
    await closed;
    const responses = answer.split(/(?=HTTP\/1\.1 )/);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
    const drained = responses[1] ?? '';
    expect(drained).toMatch(/^HTTP\/1\.1 503 /);
    expect(drained).toMatch(/\r\nrequest-id: req_/i);
    const error = JSON.parse(drained.slice(drained.indexOf('\r\n\r\n') + 4)).error;
    expect(error).toMatchObject({
      type: 'api_error',
      code: 'service_unavailable',
      request_id: expect.stringMatching(/^req_/),
    });
  });
});
