import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressCall } from '../../src/egress/egress-types.ts';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import {
  createEgressLedgerDal,
  type EgressLedgerRow,
} from '../../src/modules/egress-ledger/egress-ledger-dal.ts';
import { createEgressLedgerWriter } from '../../src/modules/egress-ledger/egress-ledger-writer.ts';
import { type LocalHttpServer, startLocalHttpServer } from '../fakes/local-http-server.ts';
import { ledgerRow, llmCall, testGateway } from '../helpers/egress-harness.ts';
import {
  bearer,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  expectError,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * The egress ledger on the real database: what a call's row holds (counts and classes, never a
 * canary: the table is dumped), that `recorded` means committed, the daily roll-up API (tenant
 * scoped, list and error style) and the live page read with a key.
 */
const EMAIL = 'ledger.canary@example.com';
const CANARY = {
  sha256: createHash('sha256').update(EMAIL).digest('hex'),
  idfa: '0E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B',
  token: 'EAAB-ledger-token-canary',
  header: 'header-canary-value',
  path: '9988776655',
  query: 'query-canary-value',
};

const NOW = new Date('2026-06-15T12:00:00.000Z');
const dal = createEgressLedgerDal();

const row = (orgId: string, over: Partial<EgressLedgerRow> = {}): EgressLedgerRow =>
  ledgerRow({ org_id: orgId, created_at: NOW, ...over });

describe('the egress ledger', () => {
  const clock = fixedClock(NOW);
  let t: TestApp;
  let server: LocalHttpServer;
  let orgA: TestOrg;
  let orgB: TestOrg;
  beforeAll(async () => {
    t = await createTestApp({ clock });
    server = await startLocalHttpServer();
    orgA = await createOrg(t.app, 'Ledger A');
    orgB = await createOrg(t.app, 'Ledger B');
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('holds a call’s counts and classes, and no canary (the whole table dumped)', async () => {
    const project = await createProject(t.app, orgA);
    const h = testGateway({
      ledger: t.container.egressLedgerWriter,
      redirects: { 'graph.facebook.com': server.url },
      destinations: async () => [{ type: 'meta_capi', vendor: 'meta', hosts: ['graph.facebook.com'] }],
    });
    const call: EgressCall = llmCall({
      orgId: orgA.id,
      projectId: project.id,
      vendor: 'meta',
      purpose: 'capi',
      dataClasses: ['conversion_events', 'hashed_identifiers', 'device_ids'],
      records: 2,
      url: `https://graph.facebook.com/v25.0/${CANARY.path}/events?trace=${CANARY.query}`,
      headers: { 'x-trace': CANARY.header },
      credentials: { query: { access_token: CANARY.token } },
      body: {
        json: {
          data: [
            { event_name: 'Purchase', user_data: { em: [CANARY.sha256] } },
            { event_name: 'Purchase', user_data: { madid: CANARY.idfa } },
          ],
        },
      },
    });
    const res = await h.gateway.request(call);
    expect(await res.recorded).toBe(true);
    // A refused call leaves no row.
    await expect(
      h.gateway.request({ ...call, body: { json: { data: [{ user_data: { em: EMAIL } }] } } }),
    ).rejects.toMatchObject({ code: 'content_refused' });
    await h.gateway.close();

    const { rows } = await t.db.systemPool.query('SELECT e::text AS line, e.* FROM egress_ledger e');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      org_id: orgA.id,
      project_id: project.id,
      vendor: 'meta',
      host: 'graph.facebook.com',
      purpose: 'capi',
      data_classes: ['conversion_events', 'device_ids', 'hashed_identifiers'],
      records: 2,
      bytes_out: String(server.requests[0]?.body.length),
      attempts: 1,
      status: 200,
      outcome: 'ok',
    });
    const line = rows[0].line as string;
    for (const value of [...Object.values(CANARY), EMAIL, '127.0.0.1', '/events', 'Purchase'])
      expect(line.toLowerCase()).not.toContain(value.toLowerCase());
  });

  it('resolves `recorded` only once the row is committed (another connection sees it)', async () => {
    const h = testGateway({
      ledger: t.container.egressLedgerWriter,
      redirects: { 'api.openai.com': server.url },
    });
    const calls = await Promise.all(
      Array.from({ length: 40 }, () => h.gateway.request(llmCall({ orgId: orgA.id, projectId: null }))),
    );
    expect(await Promise.all(calls.map((c) => c.recorded))).toEqual(Array(40).fill(true));
    expect(t.container.egressLedgerWriter.unacknowledged()).toBe(0);
    const other = new pg.Client(t.db.superuser);
    await other.connect();
    try {
      const { rows } = await other.query(
        `SELECT count(*)::int AS n FROM egress_ledger WHERE org_id = $1 AND vendor = 'openai'`,
        [orgA.id],
      );
      expect(rows[0].n).toBe(40);
    } finally {
      await other.end();
    }
    await h.gateway.close();
  });

  it('the container’s gateway counts its refusals on /metrics by vendor, purpose and reason, never the host', async () => {
    await expect(
      t.container.egress.request(llmCall({ orgId: orgA.id, url: 'https://exfil.example/v1/x' })),
    ).rejects.toMatchObject({ code: 'host_not_allowed' });
    const metrics = (await t.app.inject('/metrics')).body;
    expect(metrics).toMatch(
      /layers_egress_refusals_total\{vendor="openai",purpose="llm",reason="host_not_allowed"\} 1/,
    );
    expect(metrics).not.toContain('exfil.example');
  });

  describe('GET /v1/data-protection/egress', () => {
    beforeAll(async () => {
      await t.db.systemPool.query('DELETE FROM egress_ledger');
      const day = (n: number) => new Date(NOW.getTime() - n * DAY_MS);
      await dal.insert(t.db.system, [
        row(orgA.id, { created_at: day(0), records: 3, bytes_out: 300 }),
        row(orgA.id, {
          created_at: day(0),
          records: 2,
          bytes_out: 200,
          attempts: 2,
          outcome: 'http_error',
          status: 503,
        }),
        row(orgA.id, {
          created_at: day(1),
          vendor: 'tiktok',
          host: 'open.tiktokapis.com',
          purpose: 'publishing',
          data_classes: ['generated_media', 'post_content'],
          records: 1,
          bytes_out: 5_000,
        }),
        row(orgA.id, { created_at: day(40), records: 9 }),
        row(orgB.id, { created_at: day(0), vendor: 'anthropic', host: 'api.anthropic.com', records: 7 }),
      ]);
    });
    const get = (org: TestOrg, query = '') =>
      t.app.inject({ method: 'GET', url: `/v1/data-protection/egress${query}`, headers: bearer(org.secret) });

    it('rolls up per day × vendor × purpose × data classes, for the org only, the last 30 days by default', async () => {
      const a = await get(orgA);
      expect(a.statusCode).toBe(200);
      expect(a.json()).toEqual({
        object: 'list',
        has_more: false,
        data: [
          {
            date: '2026-06-15',
            vendor: 'openai',
            purpose: 'llm',
            data_classes: ['project_content'],
            requests: 3,
            records: 5,
            bytes: 500,
            bytes_in: 100,
            errors: 1,
          },
          {
            date: '2026-06-14',
            vendor: 'tiktok',
            purpose: 'publishing',
            data_classes: ['generated_media', 'post_content'],
            requests: 1,
            records: 1,
            bytes: 5000,
            bytes_in: 50,
            errors: 0,
          },
        ],
      });
      const b = (await get(orgB)).json();
      expect(b.data.map((r: { vendor: string }) => r.vendor)).toEqual(['anthropic']);
    });

    it('filters by since, until, vendor and purpose, and pages with limit', async () => {
      const since = encodeURIComponent(new Date(NOW.getTime() - 60 * DAY_MS).toISOString());
      const all = (await get(orgA, `?since=${since}`)).json();
      expect(all.data.map((r: { date: string }) => r.date)).toEqual([
        '2026-06-15',
        '2026-06-14',
        '2026-05-06',
      ]);
      expect((await get(orgA, '?vendor=tiktok')).json().data).toHaveLength(1);
      expect((await get(orgA, '?purpose=publishing')).json().data[0].vendor).toBe('tiktok');
      const until = encodeURIComponent('2026-06-15T00:00:00.000Z');
      expect((await get(orgA, `?until=${until}`)).json().data.map((r: { date: string }) => r.date)).toEqual([
        '2026-06-14',
      ]);
      const page = (await get(orgA, '?limit=1')).json();
      expect(page).toMatchObject({ has_more: true });
      expect(page.data).toHaveLength(1);
    });

    it('answers bad parameters in the error contract', async () => {
      expectError(await get(orgA, '?purpose=selling'), 400);
      expectError(await get(orgA, '?vendor=Not%20A%20Vendor'), 400);
      expectError(await get(orgA, '?since=yesterday'), 400);
      const e = expectError(
        await get(
          orgA,
          `?since=${encodeURIComponent(NOW.toISOString())}&until=${encodeURIComponent('2026-01-01T00:00:00.000Z')}`,
        ),
        400,
      );
      expect(e.param).toBe('since');
      expectError(await get(orgA, '?since=2010-01-01T00:00:00.000Z'), 400, 'parameter_invalid');
    });

    it('the live page shows the last 30 days per vendor to a key, and only the vendor list without one', async () => {
      const page = (headers: Record<string, string> = {}) =>
        t.app.inject({ method: 'GET', url: '/data-protection', headers });
      const keyed = await page(bearer(orgA.secret));
      expect(keyed.statusCode).toBe(200);
      expect(keyed.headers['cache-control']).toBe('private, no-store');
      expect(keyed.body).toContain('What left your organization in the last 30 days');
      const table = keyed.body.slice(keyed.body.indexOf('id="egress"'));
      expect(table).toMatch(
        /<td data-vendor="tiktok">TikTok<\/td><td>publishing<\/td><td>generated_media, post_content<\/td><td>1<\/td><td>1<\/td><td>5000<\/td><td>0<\/td>/,
      );
      expect(table).toMatch(
        /<td data-vendor="openai">OpenAI<\/td><td>llm<\/td><td>project_content<\/td><td>3<\/td><td>5<\/td><td>500<\/td><td>1<\/td>/,
      );
      expect(table).not.toContain('Anthropic</td><td>llm');

      const other = await page(bearer(orgB.secret));
      expect(other.body.slice(other.body.indexOf('id="egress"'))).toContain('data-vendor="anthropic"');
      expect(other.body).not.toContain('data-vendor="openai"');

      const open = await page();
      expect(open.headers['cache-control']).toBe('public, max-age=300');
      expect(open.body).not.toContain('id="egress"');
      expect(open.body).toContain('Read this page with your secret key');
      for (const vendor of [
        'OpenAI',
        'TikTok',
        'Meta Platforms (Facebook, Instagram)',
        'Amazon Web Services (Amazon S3)',
      ])
        expect(open.body).toContain(vendor);

      expectError(await page(bearer('lyr_sk_not-a-key')), 401, 'invalid_api_key');
      const revoked = await createKey(t.app, orgA, { type: 'secret' });
      await t.app.inject({
        method: 'DELETE',
        url: `/v1/api-keys/${revoked.id}`,
        headers: bearer(orgA.secret),
      });
      expectError(await page(bearer(revoked.secret)), 401, 'revoked_api_key');
      const project = await createProject(t.app, orgA);
      const publishable = await createKey(t.app, orgA, { type: 'publishable', project_id: project.id });
      expectError(await page(bearer(publishable.secret)), 403, 'key_type_not_allowed');
    });
  });
});

describe('the ledger writer while the database refuses its rows', () => {
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app, 'Writer');
  });
  afterAll(() => t.close());

  const until = async (what: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await what()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('condition not reached');
  };
  const count = async () =>
    Number((await t.db.systemPool.query('SELECT count(*) AS n FROM egress_ledger')).rows[0].n);

  it('keeps rows unacknowledged until they commit, drops (and says so) past its bound', async () => {
    const dropped: number[] = [];
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      dal,
      retryMs: 20,
      maxBuffered: 3,
      metrics: { written: () => undefined, dropped: (n) => dropped.push(n) },
    });
    // The table is away: every INSERT fails.
    await t.db.systemPool.query('ALTER TABLE egress_ledger RENAME TO egress_ledger_away');
    const settled: boolean[] = [];
    const first = writer.append(row(org.id));
    first.then((v) => settled.push(v));
    const rest = [writer.append(row(org.id)), writer.append(row(org.id))];
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toEqual([]);
    expect(writer.unacknowledged()).toBe(3);
    // One more than the bound: the oldest is dropped, its promise says so.
    const fourth = writer.append(row(org.id));
    expect(await first).toBe(false);
    expect(dropped).toEqual([1]);

    await t.db.systemPool.query('ALTER TABLE egress_ledger_away RENAME TO egress_ledger');
    expect(await Promise.all([...rest, fourth])).toEqual([true, true, true]);
    expect(await count()).toBe(3);
    await until(() => writer.unacknowledged() === 0);
    await writer.stop();
    expect(await writer.append(row(org.id))).toBe(false);
  });
});
