import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createOwnerRegister, type FuzzWorld } from './fuzz-world.ts';
import { encodeComponent } from './request-parts.ts';
import { checkResponse } from './route-fuzz.ts';
import type { FuzzRequest } from './route-requests.ts';

/** The fuzz's checks themselves can fail: each rule, fed the answer it exists to catch. */
const A_PROJECT = 'proj_01m8sj93gw6fhpym4shj88hmpc';
const B_PROJECT = 'proj_01m8sj93gw6fhpym4shj88hmpd';
const A_SECRET = `lyr_sk_${'a'.repeat(33)}`;

function world(): FuzzWorld {
  const owners = createOwnerRegister();
  owners.learn(A_PROJECT, 'A');
  owners.learn(B_PROJECT, 'B');
  owners.own(A_SECRET, 'A');
  owners.own('u_private_a', 'A');
  return { orgs: {} as FuzzWorld['orgs'], spareOrgIds: [], owners };
}

const request = (over: Partial<FuzzRequest> = {}): FuzzRequest => ({
  actor: 'B',
  method: 'GET',
  url: `/v1/projects/${B_PROJECT}`,
  headers: {},
  payload: undefined,
  idValues: [B_PROJECT],
  sentStrings: [],
  ...over,
});

const response = (statusCode: number, body: unknown, requestId = 'req_1'): LightMyRequestResponse =>
  ({
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'request-id': requestId },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }) as unknown as LightMyRequestResponse;

const contractError = (status: number, code: string, type: string, extra: object = {}) =>
  response(status, { error: { type, code, message: 'No.', request_id: 'req_1', ...extra } });

describe('route fuzz checks', () => {
  it('pass a correct answer', () => {
    expect(checkResponse(request(), response(200, { id: B_PROJECT, name: A_PROJECT }), world())).toEqual([]);
    expect(
      checkResponse(request(), contractError(404, 'resource_missing', 'not_found_error'), world()),
    ).toEqual([]);
  });

  it('flag a 5xx', () => {
    expect(checkResponse(request(), contractError(500, 'internal_error', 'api_error'), world())).toContain(
      'answered 500',
    );
  });

  it('flag errors outside the contract', () => {
    const w = world();
    expect(checkResponse(request(), response(400, { error: 'Bad Request', statusCode: 400 }), w)).not.toEqual(
      [],
    );
    expect(checkResponse(request(), contractError(400, 'resource_missing', 'not_found_error'), w)).toContain(
      'code resource_missing answered with 400 / not_found_error',
    );
    expect(
      checkResponse(request(), contractError(404, 'resource_missing', 'not_found_error', { path: '/x' }), w),
    ).toContain('error has key path');
    expect(
      checkResponse(
        request(),
        response(404, {
          error: { type: 'not_found_error', code: 'resource_missing', message: 'x', request_id: 'req_2' },
        }),
        w,
      ),
    ).toContain('request_id differs from Request-Id');
  });

  it('flag an error that echoes a value sent', () => {
    const sent = 'canary-value-123';
    expect(
      checkResponse(
        request({ sentStrings: [sent] }),
        contractError(400, 'invalid_request', 'invalid_request_error', { message: `bad ${sent}` }),
        world(),
      ),
    ).toEqual(['error echoes a value sent ("canary-value-123")']);
  });

  it("flag another org's id in an id field, or its secret anywhere, but not its id echoed in free text", () => {
    const w = world();
    expect(checkResponse(request(), response(200, { data: [{ id: A_PROJECT }] }), w)).toEqual([
      `response holds A's ${A_PROJECT.slice(0, 12)}…`,
    ]);
    expect(checkResponse(request(), response(200, { name: `key ${A_SECRET}` }), w)).toHaveLength(1);
    expect(checkResponse(request(), response(200, `text with ${A_PROJECT}`), w)).toHaveLength(1);
    // A user only A ever names: in a lookup's user_ids (free text otherwise) it is A's data.
    expect(checkResponse(request(), response(200, { user_ids: ['u_private_a'] }), w)).toHaveLength(1);
    // B's SDK sent A's id as an event property in an earlier request: B's own data, exported to B.
    expect(
      checkResponse(
        request(),
        response(200, { events: [{ id: 'evt_1', properties: { project_id: A_PROJECT } }] }),
        w,
      ),
    ).toEqual([]);
    // B named its own object after A's id: an echo of what B wrote, not a leak.
    expect(
      checkResponse(
        request({ payload: JSON.stringify({ name: A_PROJECT }) }),
        response(201, { id: B_PROJECT, name: A_PROJECT }),
        w,
      ),
    ).toEqual([]);
  });

  it("flag a success for another org's id where an id belongs", () => {
    const url = `/v1/projects/${encodeComponent(A_PROJECT)}`;
    expect(
      checkResponse(request({ url, idValues: [A_PROJECT] }), response(200, { id: A_PROJECT }), world()),
    ).toContain(`succeeded with A's id ${A_PROJECT.slice(0, 12)}… where an id belongs`);
    expect(
      checkResponse(
        request({ url, idValues: [A_PROJECT] }),
        contractError(404, 'resource_missing', 'not_found_error'),
        world(),
      ),
    ).toEqual([]);
  });
});
