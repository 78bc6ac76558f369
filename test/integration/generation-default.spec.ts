import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import { buildPrompt } from '../../src/modules/generation/prompt-builder.ts';
import { mediaKey } from '../../src/modules/media/media-store.ts';
import {
  BRIEF,
  decodePng,
  fetchSigned,
  ffprobe,
  getJson,
  mediaDir,
  startGeneration,
} from '../helpers/generation-helpers.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * A generation with the offline `default` provider, end to end: 202 queued, the job run, copy
 * variants, two real PNGs (1080×1080, 1080×1920) and a real H.264 MP4 (1080×1920, 8 s) in the fs
 * store, signed URLs, webhook event and audit entries, the prompt's hash and size but not its text.
 */
describe('generation with the default provider', () => {
  const clock = fixedClock(new Date());
  const dir = mediaDir();
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let projectId: string;
  let generationId: string;
  let generation: Record<string, unknown> & { media_ids: string[]; copy: { headline: string }[] };

  beforeAll(async () => {
    t = await createTestApp({
      clock,
      env: { LAYERS_MEDIA_DIR: dir, LAYERS_PUBLIC_URL: 'https://layers.test' },
    });
    org = await createOrg(t.app, 'Acme');
    other = await createOrg(t.app, 'Other');
    projectId = (await createProject(t.app, org)).id;
    const res = await startGeneration(t, org, projectId);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      status: 'queued',
      provider: 'default',
      retention_mode: 'zero_retention',
    });
    generationId = res.json().id;
    expect(await t.container.generations.run(org.id, generationId, 1)).toBe('succeeded');
    generation = (await getJson(t, org, `/v1/generations/${generationId}`)).body;
  }, 120_000);
  afterAll(() => t.close());

  it('succeeds with three copy variants drawn from the brief', () => {
    expect(generation.status).toBe('succeeded');
    expect(generation.copy).toHaveLength(3);
    for (const c of generation.copy as { headline: string; body: string; call_to_action: string }[]) {
      expect(c.headline.length).toBeGreaterThan(5);
      expect(`${c.headline} ${c.body}`).toContain('Acme Cold Brew');
      expect(c.call_to_action).toBe('Shop now');
    }
    expect(generation.media_ids).toHaveLength(3);
  });

  it('stores PNGs that decode to 1080×1080 and 1080×1920', async () => {
    const sizes: string[] = [];
    for (const id of generation.media_ids) {
      const m = (await getJson(t, org, `/v1/media/${id}`)).body;
      if (m.kind !== 'image') continue;
      expect(m.content_type).toBe('image/png');
      const res = await fetchSigned(t, m.url);
      expect(res.statusCode).toBe(200);
      const png = decodePng(res.rawPayload);
      expect([png.width, png.height]).toEqual([m.width, m.height]);
      expect(createHash('sha256').update(res.rawPayload).digest('hex')).toBe(m.sha256);
      expect(res.rawPayload.length).toBe(m.bytes);
      sizes.push(`${png.width}x${png.height}`);
    }
    expect(sizes.sort()).toEqual(['1080x1080', '1080x1920']);
  });

  it('stores an MP4 that ffprobe reads as H.264, 1080×1920, 8 s', async () => {
    const all = await Promise.all(generation.media_ids.map((m) => getJson(t, org, `/v1/media/${m}`)));
    const video = all.map((r) => r.body).find((m) => m.kind === 'video');
    expect(video).toMatchObject({ content_type: 'video/mp4', width: 1080, height: 1920, duration_ms: 8000 });
    const res = await fetchSigned(t, video.url);
    expect(res.statusCode).toBe(200);
    const probe = await ffprobe(res.rawPayload);
    expect(probe.codec_name).toBe('h264');
    expect([probe.width, probe.height]).toEqual([1080, 1920]);
    expect(probe.formatDuration).toBeCloseTo(8, 0);
  });

  it("records the prompt's SHA-256 and byte count, never its text", async () => {
    const prompt = buildPrompt(BRIEF);
    expect(generation.prompt).toEqual({ sha256: prompt.sha256, bytes: prompt.bytes });
    const row = await t.db.systemPool.query('SELECT to_jsonb(g) AS j FROM generations g WHERE id = $1', [
      generationId,
    ]);
    expect(JSON.stringify(row.rows[0].j)).not.toContain(prompt.system.slice(0, 40));
  });

  it('emits generation.succeeded and audits creation and success', async () => {
    const events = await t.db.systemPool.query(
      "SELECT type, data FROM webhook_events WHERE type LIKE 'generation.%'",
    );
    expect(events.rows).toEqual([
      {
        type: 'generation.succeeded',
        data: expect.objectContaining({ id: generationId, media_ids: generation.media_ids }),
      },
    ]);
    const audit = await t.db.systemPool.query(
      'SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY created_at, id',
      [generationId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['generation.created', 'generation.succeeded']);
  });

  it('content-addresses objects under org and project', () => {
    const files = readdirSync(path.join(dir, 'org', org.id, 'project', projectId));
    expect(files.sort()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^[A-Za-z0-9_-]{43}\.png$/),
        expect.stringMatching(/^[A-Za-z0-9_-]{43}\.mp4$/),
      ]),
    );
  });

  it('answers 404 to another org for the generation and its media', async () => {
    expect((await getJson(t, other, `/v1/generations/${generationId}`)).status).toBe(404);
    expect((await getJson(t, other, `/v1/media/${generation.media_ids[0]}`)).status).toBe(404);
    expect((await getJson(t, other, `/v1/projects/${projectId}/media`)).status).toBe(404);
  });

  it('signed URLs: valid, tampered, moved to other media, expired', async () => {
    const [a, b] = generation.media_ids as [string, string];
    const m = (await getJson(t, org, `/v1/media/${a}`)).body;
    const u = new URL(m.url);
    expect((await fetchSigned(t, m.url)).statusCode).toBe(200);
    const sig = u.searchParams.get('sig') as string;
    const flipped = `${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1)}`;
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: `/media/${a}?exp=${u.searchParams.get('exp')}&sig=${flipped}`,
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: `/media/${a}?exp=${Number(u.searchParams.get('exp')) + 60}&sig=${sig}`,
        })
      ).statusCode,
    ).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: `/media/${b}${u.search}` })).statusCode).toBe(403);
    clock.advance(3601_000);
    const expired = await fetchSigned(t, m.url);
    expect(expired.statusCode).toBe(403);
    expect(expired.json().error.code).toBe('signature_invalid');
    clock.advance(-3601_000);
  });

  it('refuses a brief that carries personal data, and an unconfigured provider', async () => {
    const pii = await startGeneration(t, org, projectId, {
      brief: { ...BRIEF, audience: 'people like jane.doe@example.com' },
    });
    expect(pii.statusCode).toBe(400);
    expect(pii.body).not.toContain('jane.doe');
    const vendor = await startGeneration(t, org, projectId, { brief: BRIEF, provider: 'openai' });
    expect(vendor.statusCode).toBe(400);
    expect(vendor.json().error.param).toBe('provider');
    const extra = await startGeneration(t, org, projectId, { brief: { ...BRIEF, user_id: 'u_1' } });
    expect(extra.statusCode).toBe(400);
  });

  it('DELETE /v1/media/:id removes the row and the object; the grace-period purge removes the rest', async () => {
    const id = generation.media_ids[0] as string;
    const m = (await getJson(t, org, `/v1/media/${id}`)).body;
    const file = path.join(dir, mediaKey(org.id, projectId, m.sha256, 'image/png'));
    expect(existsSync(file)).toBe(true);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/media/${id}`, headers: bearer(org.secret) });
    expect(del.statusCode).toBe(200);
    expect(existsSync(file)).toBe(false);
    expect((await getJson(t, org, `/v1/media/${id}`)).status).toBe(404);

    await t.app.inject({ method: 'DELETE', url: `/v1/projects/${projectId}`, headers: bearer(org.secret) });
    clock.advance(31 * DAY_MS);
    const report = await t.container.retentionSweeper.sweep();
    expect(report.projects_purged).toBe(1);
    expect(report.purged.generated_media).toBeGreaterThanOrEqual(3);
    expect(
      existsSync(path.join(dir, 'org', org.id, 'project', projectId))
        ? readdirSync(path.join(dir, 'org', org.id, 'project', projectId))
        : [],
    ).toEqual([]);
    const rows = await t.db.systemPool.query(
      'SELECT 1 FROM media_assets WHERE project_id = $1 UNION ALL SELECT 1 FROM generations WHERE project_id = $1',
      [projectId],
    );
    expect(rows.rowCount).toBe(0);
  });
});
