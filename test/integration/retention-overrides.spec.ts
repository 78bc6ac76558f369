import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../../src/lib/clock.ts';
import { DATA_CLASSES } from '../../src/privacy/data-classes.ts';
import { offboard, setRetention } from '../helpers/retention-fixtures.ts';
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
 * Contract retention for partner-tier orgs: PUT /admin/v1/orgs/:orgId/retention within the registry's
 * bounds (refused outside them, naming the bound; refused for standard tier), audited with a system
 * actor, and GET /v1/data-protection/retention showing each org its effective values.
 */
describe('per-org retention overrides', () => {
  let t: TestApp;
  let partner: TestOrg;
  let standard: TestOrg;
  beforeAll(async () => {
    t = await createTestApp();
    partner = await createOrg(t.app, 'Partner', 'partner');
    standard = await createOrg(t.app, 'Standard', 'standard');
  });
  afterAll(() => t.close());

  const put = (orgId: string, overrides: Record<string, unknown>) =>
    t.app.inject({
      method: 'PUT',
      url: `/admin/v1/orgs/${orgId}/retention`,
      headers: bearer(ADMIN_TOKEN),
      payload: { overrides },
    });
  const effective = async (org: TestOrg) => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/data-protection/retention',
      headers: bearer(org.secret),
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const classOf = (body: { data_classes: { data_class: string }[] }, name: string) =>
    body.data_classes.find((c) => c.data_class === name) as Record<string, unknown>;

  it('shows every org the registry defaults, with bounds and sources', async () => {
    const body = await effective(standard);
    expect(body).toMatchObject({ object: 'retention_policy', org_id: standard.id, tier: 'standard' });
    expect(body.data_classes.map((c: { data_class: string }) => c.data_class)).toEqual(
      DATA_CLASSES.map((c) => c.name),
    );
    expect(classOf(body, 'request_log')).toMatchObject({
      retention_ms: 30 * DAY_MS,
      retention: '30 days from creation',
      source: 'default',
      default_ms: 30 * DAY_MS,
      min_ms: 7 * DAY_MS,
      max_ms: 365 * DAY_MS,
      adjustable: true,
    });
    expect(classOf(body, 'social_accounts')).toMatchObject({
      retention_ms: null,
      retention: 'Until revoked or the partnership ends',
      adjustable: false,
      at_partnership_end: 'immediately',
    });
    expect(classOf(body, 'user_profiles')).toMatchObject({ follows: 'sdk_events', adjustable: false });
  });

  it('sets a partner’s values within bounds, and the partner sees them', async () => {
    const res = await put(partner.id, { request_log: '90d', sdk_events: '730d', idempotency_cache: '48h' });
    expect(res.statusCode).toBe(200);
    const body = await effective(partner);
    expect(classOf(body, 'request_log')).toMatchObject({ retention_ms: 90 * DAY_MS, source: 'contract' });
    expect(classOf(body, 'idempotency_cache')).toMatchObject({
      retention_ms: 48 * HOUR_MS,
      source: 'contract',
    });
    expect(classOf(body, 'sdk_events')).toMatchObject({ retention_ms: 730 * DAY_MS, source: 'contract' });
    // Profiles ride on the events: they follow the contract value too.
    expect(classOf(body, 'user_profiles')).toMatchObject({ retention_ms: 730 * DAY_MS, source: 'contract' });
    expect(classOf(body, 'audit_log')).toMatchObject({ source: 'default' });
    // Another org is untouched.
    expect(classOf(await effective(standard), 'request_log')).toMatchObject({ retention_ms: 30 * DAY_MS });
    // The operator sees the same.
    const op = await t.app.inject({
      method: 'GET',
      url: `/admin/v1/orgs/${partner.id}/retention`,
      headers: bearer(ADMIN_TOKEN),
    });
    expect(classOf(op.json(), 'request_log')).toMatchObject({ retention_ms: 90 * DAY_MS });
  });

  it('refuses values outside the bounds, naming the bound and the parameter', async () => {
    let err = expectError(await put(partner.id, { request_log: '400d' }), 400, 'parameter_invalid');
    expect(err.param).toBe('overrides.request_log');
    expect(err.message).toBe(
      'request_log retention of 400 days (about 13 months) is above the contract maximum of 1 year (allowed: 7 days to 1 year).',
    );
    err = expectError(await put(partner.id, { request_log: '6d' }), 400, 'parameter_invalid');
    expect(err.message).toContain('below the contract minimum of 7 days');
    err = expectError(await put(partner.id, { sdk_events: '29d' }), 400);
    expect(err.message).toContain('minimum of 30 days');
    err = expectError(await put(partner.id, { sdk_events: '2556d' }), 400);
    expect(err.message).toContain('maximum of 7 years');
    err = expectError(await put(partner.id, { idempotency_cache: '200h' }), 400);
    expect(err.message).toContain('maximum of 7 days');
    err = expectError(await put(partner.id, { generated_media: '6d' }), 400);
    expect(err.message).toContain('minimum of 7 days');
    err = expectError(await put(partner.id, { audit_log: '10d' }), 400);
    expect(err.message).toContain('minimum of 30 days');
    err = expectError(await put(partner.id, { user_profiles: '60d' }), 400);
    expect(err.message).toContain('not adjustable by contract (it follows sdk_events)');
    err = expectError(await put(partner.id, { social_accounts: '60d' }), 400);
    expect(err.param).toBe('overrides.social_accounts');
    err = expectError(await put(partner.id, { nonsense: '60d' }), 400);
    expect(err.message).toContain("Unknown data class 'nonsense'");
    err = expectError(await put(partner.id, { request_log: '90 days' }), 400);
    expect(err.message).toContain('like "90d" or "36h"');
    expectError(await put(partner.id, { request_log: 90 }), 400);
    // Nothing was changed by the refused requests.
    expect(classOf(await effective(partner), 'request_log')).toMatchObject({ retention_ms: 90 * DAY_MS });
  });

  it('refuses standard-tier orgs, unknown orgs and ended partnerships', async () => {
    const err = expectError(await put(standard.id, { request_log: '90d' }), 400, 'invalid_request');
    expect(err.message).toContain('partner tier');
    expectError(await put('org_00000000000000000000000000', { request_log: '90d' }), 404);
    expectError(await put('not-an-id', { request_log: '90d' }), 404);
    const ended = await createOrg(t.app, 'Ended', 'partner');
    await offboard(t, ended.id);
    expectError(await put(ended.id, { request_log: '90d' }), 409, 'conflict');
  });

  it('is audited in the org’s chain with a system actor and before/after values', async () => {
    await setRetention(t, partner.id, { request_log: '120d', sdk_events: null });
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/audit-log?action=org.retention_updated',
      headers: bearer(partner.secret),
    });
    const [latest, first] = res.json().data;
    expect(latest).toMatchObject({
      actor: { type: 'system', id: null },
      resource: { type: 'org', id: partner.id },
      changes: {
        request_log: { before: '90d', after: '120d' },
        sdk_events: { before: '730d', after: null },
        idempotency_cache: { before: '2d', after: null },
      },
    });
    expect(first.changes.request_log).toEqual({ before: null, after: '90d' });
    expect(latest.request_id).toMatch(/^req_/);
    expect((await t.container.auditLog.verifyChain(t.db.system, partner.id)).ok).toBe(true);
    // PUT replaces the whole set: absent classes are back to their default.
    const body = await effective(partner);
    expect(classOf(body, 'sdk_events')).toMatchObject({ source: 'default' });
    expect(classOf(body, 'idempotency_cache')).toMatchObject({
      source: 'default',
      retention_ms: 24 * HOUR_MS,
    });
  });

  it('a shorter replay window applies to entries already stored', async () => {
    await setRetention(t, partner.id, { idempotency_cache: '72h' });
    const first = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { ...bearer(partner.secret), 'idempotency-key': 'window-1' },
      payload: { name: 'W' },
    });
    expect(first.statusCode).toBe(201);
    const window = async () => {
      const { rows } = await t.db.systemPool.query(
        `SELECT extract(epoch FROM expires_at - created_at)::int AS s FROM idempotency_keys WHERE org_id = $1`,
        [partner.id],
      );
      return rows.map((r) => r.s);
    };
    expect(await window()).toEqual([72 * 3600]);
    await setRetention(t, partner.id, { idempotency_cache: '2h' });
    expect(await window()).toEqual([2 * 3600]);
  });
});
