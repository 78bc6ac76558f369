import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { DATA_CLASSES } from '../../src/privacy/data-classes.ts';
import { monthRetentionEnd } from '../../src/privacy/retention-clock.ts';
import { runCli } from '../helpers/cli.ts';
import { at, count, plantRequestLog, plusMs, sdkProject } from '../helpers/retention-fixtures.ts';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { bearer, createOrg, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The live page: server-rendered HTML at GET /data-protection and Markdown from `layers docs
 * data-protection`, both built from the registry and this deployment's configuration. The decisive
 * test reads the retention values off the page and checks them against the sweeper, twice: equal to
 * what the sweeper says it enforces, and enforced to the millisecond when rows are planted at the
 * page's own boundaries.
 */
type PageRetention = { ms: number | null; clock: string; text: string };

function pageRetention(html: string): Map<string, PageRetention> {
  const cells = new Map<string, PageRetention>();
  const table = html.slice(html.indexOf('id="retention-summary"'));
  for (const m of table.matchAll(
    /<td data-data-class="([a-z_]+)" data-retention-ms="(\d+|none)" data-clock="([a-z_]+)">([^<]*)<\/td>/g,
  )) {
    const [, cls, ms, clock, text] = m as unknown as [string, string, string, string, string];
    if (!cells.has(cls)) cells.set(cls, { ms: ms === 'none' ? null : Number(ms), clock, text });
  }
  return cells;
}

describe('the data-protection page', () => {
  const clock = fixedClock(at('2026-02-14T10:00:00.000Z'));
  let t: TestApp;
  let html: string;
  beforeAll(async () => {
    t = await createTestApp({ clock });
    html = (await t.app.inject('/data-protection')).body;
  });
  afterAll(() => t.close());

  it('is server-rendered HTML without script, for anyone', async () => {
    const res = await t.app.inject('/data-protection');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('<h1>Data protection</h1>');
    for (const heading of [
      'Roles',
      'Data categories',
      'Data residency',
      'Data-subject requests',
      'Retention summary',
    ])
      expect(html).toContain(`<h2>${heading}</h2>`);
  });

  it('states the deployment’s region, stores, sub-processors and contacts', () => {
    expect(html).toContain('All primary processing happens in the United States.');
    expect(html).toContain('stored in US-region infrastructure');
    expect(html).toContain('<td data-store="database">us</td>');
    for (const vendor of ['Google Cloud Vertex AI', 'OpenAI', 'Anthropic']) expect(html).toContain(vendor);
    expect(html).toContain('Third-party LLMs we call (Google Cloud Vertex AI, OpenAI, Anthropic)');
    expect(html).toContain('<a href="mailto:legal@layers.com">legal@layers.com</a>');
    expect(html).toContain('<a href="mailto:security@layers.com">security@layers.com</a>');
    expect(html).toContain('controller-to-processor module (Module 2)');
    expect(html).toContain('UK International Data Transfer Addendum');
    expect(html).toContain('Swiss FADP amendments');
  });

  it('shows exactly the retention the sweeper enforces, for every data class', () => {
    const shown = pageRetention(html);
    const enforced = t.container.retentionSweeper.enforcedDefaults();
    expect([...shown.keys()].sort()).toEqual(DATA_CLASSES.map((c) => c.name).sort());
    for (const e of enforced) {
      expect(shown.get(e.data_class)?.ms, e.data_class).toBe(e.retention_ms);
      expect(shown.get(e.data_class)?.clock, e.data_class).toBe(e.clock);
    }
    expect(shown.get('request_log')?.text).toBe('30 days from creation');
  });

  it('the sweeper keeps and purges at the page’s own boundaries', async () => {
    const shown = pageRetention(html);
    const requestLogMs = shown.get('request_log')?.ms as number;
    const eventsMs = shown.get('sdk_events')?.ms as number;
    expect(shown.get('sdk_events')?.clock).toBe('month_of_receipt');

    const org = await createOrg(t.app, 'Page check');
    const { publishable } = await sdkProject(t, org);
    const received = clock.now();
    await sendEvents(t.app, publishable, [
      trackEvent('u_1', 'opened', {}, { timestamp: received.toISOString() }),
    ]);
    const end = monthRetentionEnd(received, eventsMs);

    clock.set(end);
    const inside = await plantRequestLog(t.db.systemPool, org.id, plusMs(end, -requestLogMs + 1));
    const outside = await plantRequestLog(t.db.systemPool, org.id, plusMs(end, -requestLogMs - 1));
    await t.container.retentionSweeper.sweep();
    expect(await count(t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE org_id = $1', [org.id])).toBe(1);
    const { rows } = await t.db.systemPool.query('SELECT id FROM request_log WHERE org_id = $1', [org.id]);
    expect(rows.map((r) => r.id)).toEqual([inside]);
    expect(rows.map((r) => r.id)).not.toContain(outside);

    clock.set(plusMs(end, 1));
    await t.container.retentionSweeper.sweep();
    expect(await count(t.db.systemPool, 'SELECT 1 FROM sdk_events WHERE org_id = $1', [org.id])).toBe(0);
  });

  it('`layers docs data-protection` prints the same page as Markdown', async () => {
    const res = await runCli(['docs', 'data-protection'], { LAYERS_DATA_DIR: '/nonexistent-not-used' });
    expect(res.code, res.stderr).toBe(0);
    const md = res.stdout;
    expect(md.startsWith('# Data protection\n')).toBe(true);
    expect(md).toContain('## Retention summary');
    expect(md).not.toContain('<');
    for (const cls of DATA_CLASSES) {
      const text = pageRetention(html).get(cls.name)?.text as string;
      expect(md, cls.name).toContain(`| ${cls.title} (\`${cls.name}\`) | ${text} |`);
    }
    expect(md).toContain('legal@layers.com');
    const json = await runCli(['docs', 'data-protection', '--json'], {
      LAYERS_DATA_DIR: '/nonexistent-not-used',
    });
    expect(JSON.parse(json.stdout)).toEqual({ page: 'data-protection', format: 'markdown', markdown: md });
    const usage = await runCli(['docs', 'nothing'], { LAYERS_DATA_DIR: '/nonexistent-not-used' });
    expect(usage.code).toBe(2);
  });
});

describe('sub-processors and contacts from configuration', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'layers-subprocessors-'));
    file = path.join(dir, 'subprocessors.json');
    await writeFile(
      file,
      JSON.stringify({
        subprocessors: [
          {
            name: 'Example Hosting',
            category: 'hosting',
            purpose: 'Infrastructure',
            data_categories: ['All stored data'],
            location: 'United States',
          },
        ],
      }),
    );
  });

  it('GET /v1/subprocessors lists the default vendors with their training opt-out notes', async () => {
    const t = await createTestApp();
    try {
      const org = await createOrg(t.app, 'Reader');
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/subprocessors',
        headers: bearer(org.secret),
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ object: 'list', has_more: false });
      expect(body.data.map((s: { name: string }) => s.name)).toEqual([
        'Google Cloud Vertex AI',
        'OpenAI',
        'Anthropic',
        'TikTok',
        'Meta Platforms (Facebook, Instagram)',
        'Google (YouTube)',
        'Amazon Web Services (Amazon S3)',
      ]);
      // Every vendor the egress gateway may call names its hosts and purposes (its allowlist).
      for (const s of body.data) {
        expect(s.id).toMatch(/^[a-z][a-z0-9_]+$/);
        expect(s.hosts.length).toBeGreaterThan(0);
        expect(s.egress_purposes.length).toBeGreaterThan(0);
        expect(s.location).toMatch(/^United States/);
      }
      for (const s of body.data.filter((x: { category: string }) => x.category === 'llm')) {
        expect(s).toMatchObject({ location: 'United States' });
        expect(s.notes).toMatch(/training opt-out/);
        expect(s.notes).toMatch(/zero/);
        expect(s.data_categories.length).toBeGreaterThan(0);
      }
    } finally {
      await t.close();
    }
  });

  it('an operator’s list and contacts replace the defaults on the API and the page', async () => {
    const t = await createTestApp({
      env: {
        LAYERS_SUBPROCESSORS_FILE: file,
        LAYERS_LEGAL_EMAIL: 'dpo@example.org',
        LAYERS_SECURITY_EMAIL: 'sec@example.org',
        LAYERS_DATABASE_REGION: 'us-east-1',
      },
    });
    try {
      const org = await createOrg(t.app, 'Reader');
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/subprocessors',
        headers: bearer(org.secret),
      });
      expect(res.json().data.map((s: { name: string }) => s.name)).toEqual(['Example Hosting']);
      const page = (await t.app.inject('/data-protection')).body;
      expect(page).toContain('Example Hosting');
      expect(page).not.toContain('OpenAI');
      expect(page).toContain('dpo@example.org');
      expect(page).toContain('sec@example.org');
      expect(page).not.toContain('legal@layers.com');
      expect(page).toContain('<td data-store="database">us-east-1</td>');
      const dpa = await t.app.inject({
        method: 'POST',
        url: '/v1/dpa-requests',
        headers: bearer(org.secret),
        payload: { signatory_entity: 'E', countries_of_processing: ['US'], governing_law: 'NY' },
      });
      expect(dpa.json().contact).toBe('dpo@example.org');
    } finally {
      await t.close();
    }
  });

  it('a malformed list stops the process instead of publishing a wrong page', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ subprocessors: [{ name: 'No purpose' }] }));
    await expect(createTestApp({ env: { LAYERS_SUBPROCESSORS_FILE: bad } })).rejects.toThrow(
      /sub-processor list/,
    );
    const res = await runCli(['docs', 'data-protection'], {
      LAYERS_DATA_DIR: '/nonexistent-not-used',
      LAYERS_SUBPROCESSORS_FILE: bad,
    });
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toContain('is invalid');
  });
});
