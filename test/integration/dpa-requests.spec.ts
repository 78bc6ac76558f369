import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  bearer,
  createOrg,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * POST /v1/dpa-requests: the page's "email legal@layers.com with the signatory entity, countries of
 * processing, and your requested governing law" as an API that answers at once which transfer
 * mechanism applies and what legal must review; stored under RLS, audited, moved along by the
 * operator, readable by the partner.
 */
describe('DPA requests', () => {
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app, 'Acme', 'partner');
    other = await createOrg(t.app, 'Other');
  });
  afterAll(() => t.close());

  const create = (o: TestOrg, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/dpa-requests',
      headers: { ...bearer(o.secret), ...headers },
      payload,
    });
  const mechanisms = (body: { transfer_mechanisms: { mechanism: string; countries: string[] }[] }) =>
    body.transfer_mechanisms.map((m) => [m.mechanism, m.countries]);

  it('EU/EEA countries → Standard Contractual Clauses, Module 2; requirements flagged for review', async () => {
    const res = await create(org, {
      signatory_entity: 'Acme Europe GmbH',
      countries_of_processing: ['de', 'IE', 'US', 'NO'],
      governing_law: 'Ireland',
      special_requirements: ['HIPAA', 'COPPA', 'FERPA'],
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      object: 'dpa_request',
      status: 'received',
      signatory_entity: 'Acme Europe GmbH',
      countries_of_processing: ['DE', 'IE', 'US', 'NO'],
      governing_law: 'Ireland',
      transfer_required: true,
      contact: 'legal@layers.com',
    });
    expect(body.id).toMatch(/^dpa_/);
    expect(mechanisms(body)).toEqual([['eu_scc_module_2', ['DE', 'IE', 'NO']]]);
    expect(body.transfer_mechanisms[0].name).toBe(
      'EU Standard Contractual Clauses, controller-to-processor module (Module 2)',
    );
    expect(body.requirements_needing_review.map((r: { requirement: string }) => r.requirement)).toEqual([
      'HIPAA',
      'COPPA',
      'FERPA',
    ]);
    expect(body.next_step).toContain('legal@layers.com');
  });

  it('UK → the International Data Transfer Addendum; Switzerland → SCCs with the FADP amendments', async () => {
    const body = (
      await create(org, {
        signatory_entity: 'Acme UK Ltd',
        countries_of_processing: ['GB', 'CH'],
        governing_law: 'England and Wales',
      })
    ).json();
    expect(mechanisms(body)).toEqual([
      ['uk_idta_addendum', ['GB']],
      ['swiss_fadp_scc', ['CH']],
    ]);
    expect(body.requirements_needing_review).toEqual([]);
    expect(body.special_requirements).toEqual([]);
  });

  it('US only → no transfer mechanism needed; other countries → legal review', async () => {
    const us = (
      await create(org, {
        signatory_entity: 'Acme Inc',
        countries_of_processing: ['US'],
        governing_law: 'Delaware',
      })
    ).json();
    expect(us).toMatchObject({ transfer_required: false, transfer_mechanisms: [] });
    const br = (
      await create(org, {
        signatory_entity: 'Acme Brasil',
        countries_of_processing: ['BR'],
        governing_law: 'Brazil',
      })
    ).json();
    expect(mechanisms(br)).toEqual([['legal_review', ['BR']]]);
  });

  it('refuses malformed requests with the parameter', async () => {
    let err = expectError(
      await create(org, { signatory_entity: 'X', countries_of_processing: ['ZZ'], governing_law: 'Y' }),
      400,
    );
    expect(err.param).toBe('countries_of_processing.0');
    err = expectError(
      await create(org, { signatory_entity: 'X', countries_of_processing: [], governing_law: 'Y' }),
      400,
    );
    expect(err.param).toBe('countries_of_processing');
    err = expectError(await create(org, { countries_of_processing: ['DE'], governing_law: 'Y' }), 400);
    expect(err.param).toBe('signatory_entity');
    expectError(
      await create(org, {
        signatory_entity: 'X',
        countries_of_processing: ['DE'],
        governing_law: 'Y',
        extra: 1,
      }),
      400,
    );
  });

  it('is readable by its org only, audited, and idempotent', async () => {
    const payload = {
      signatory_entity: 'Acme SAS',
      countries_of_processing: ['FR'],
      governing_law: 'France',
    };
    const first = await create(org, payload, { 'idempotency-key': 'dpa-1' });
    const replay = await create(org, payload, { 'idempotency-key': 'dpa-1' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(first.body);
    const id = first.json().id;

    const got = await t.app.inject({
      method: 'GET',
      url: `/v1/dpa-requests/${id}`,
      headers: bearer(org.secret),
    });
    expect(got.json()).toEqual(first.json());
    expectError(
      await t.app.inject({ method: 'GET', url: `/v1/dpa-requests/${id}`, headers: bearer(other.secret) }),
      404,
    );
    const list = await t.app.inject({
      method: 'GET',
      url: '/v1/dpa-requests?limit=100',
      headers: bearer(org.secret),
    });
    expect(list.json().data.map((d: { id: string }) => d.id)).toContain(id);
    const otherList = await t.app.inject({
      method: 'GET',
      url: '/v1/dpa-requests',
      headers: bearer(other.secret),
    });
    expect(otherList.json().data).toEqual([]);

    const audit = await t.app.inject({
      method: 'GET',
      url: `/v1/audit-log?action=dpa_request.created&resource_id=${id}`,
      headers: bearer(org.secret),
    });
    expect(audit.json().data[0]).toMatchObject({
      actor: { type: 'api_key', id: org.keyId },
      changes: { transfer_mechanisms: { after: ['eu_scc_module_2'] }, status: { after: 'received' } },
    });
  });

  it('the operator moves it along; invalid transitions are refused; each step is audited', async () => {
    const id = (
      await create(org, {
        signatory_entity: 'Acme AB',
        countries_of_processing: ['SE'],
        governing_law: 'Sweden',
      })
    ).json().id;
    const patch = (status: string) =>
      t.app.inject({
        method: 'PATCH',
        url: `/admin/v1/dpa-requests/${id}`,
        headers: bearer(ADMIN_TOKEN),
        payload: { status },
      });
    expectError(await patch('countersigned'), 409, 'conflict');
    for (const status of ['in_review', 'sent_for_signature', 'countersigned']) {
      const res = await patch(status);
      expect(res.statusCode).toBe(200);
      expect(res.json().status).toBe(status);
    }
    const err = expectError(await patch('declined'), 409);
    expect(err.message).toContain('final');
    const seen = await t.app.inject({
      method: 'GET',
      url: `/v1/dpa-requests/${id}`,
      headers: bearer(org.secret),
    });
    expect(seen.json()).toMatchObject({
      status: 'countersigned',
      next_step: 'The DPA is countersigned and in force.',
    });
    const queue = await t.app.inject({
      method: 'GET',
      url: '/admin/v1/dpa-requests?status=countersigned',
      headers: bearer(ADMIN_TOKEN),
    });
    expect(queue.json().data.map((d: { id: string }) => d.id)).toEqual([id]);
    const audit = await t.app.inject({
      method: 'GET',
      url: `/v1/audit-log?action=dpa_request.status_changed&resource_id=${id}`,
      headers: bearer(org.secret),
    });
    expect(
      audit.json().data.map((e: { changes: { status: { after: string } } }) => e.changes.status.after),
    ).toEqual(['countersigned', 'sent_for_signature', 'in_review']);
    expect(audit.json().data[0].actor).toEqual({ type: 'system', id: null });
    expectError(
      await t.app.inject({
        method: 'PATCH',
        url: '/admin/v1/dpa-requests/dpa_00000000000000000000000000',
        headers: bearer(ADMIN_TOKEN),
        payload: { status: 'in_review' },
      }),
      404,
    );
  });
});
