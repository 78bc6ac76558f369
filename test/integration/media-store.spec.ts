import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, fixedClock } from '../../src/lib/clock.ts';
import { sha256OfFile } from '../../src/modules/media/media-service.ts';
import { type MediaStore, mediaKey } from '../../src/modules/media/media-store.ts';
import { createS3MediaStore, PART_BYTES } from '../../src/modules/media/s3-media-store.ts';
import { runVerify } from '../../src/modules/verify/verify-service.ts';
import { BUCKET, S3RVER_CREDENTIALS, startS3rver } from '../fakes/s3/s3rver-server.ts';
import { getJson, mediaDir, startGeneration } from '../helpers/generation-helpers.ts';
import { offboard } from '../helpers/retention-fixtures.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * One store suite, run on both stores: `fs` (files under LAYERS_MEDIA_DIR) and `s3` (the S3 client
 * through the egress gateway against s3rver on 127.0.0.1, which checks each SigV4 signature). Then,
 * per store: a project's deletion grace period purges its objects and rows, and the orphan check
 * (layers verify) finds objects without rows and rows without objects.
 */
async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

for (const kind of ['fs', 's3'] as const) {
  describe(`media store: ${kind}`, () => {
    const clock = fixedClock(new Date());
    const dir = mediaDir();
    let s3: Awaited<ReturnType<typeof startS3rver>> | undefined;
    let t: TestApp;
    let store: MediaStore;
    let org: TestOrg;
    let projectId: string;

    beforeAll(async () => {
      const env: Record<string, string> = { LAYERS_MEDIA_DIR: dir };
      if (kind === 's3') {
        s3 = await startS3rver();
        Object.assign(env, {
          LAYERS_MEDIA_STORE: 's3',
          LAYERS_S3_BUCKET: BUCKET,
          LAYERS_S3_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
          LAYERS_EGRESS_REDIRECT: `s3.us-east-1.amazonaws.com=${s3.url}`,
        });
      }
      t = await createTestApp({ clock, env });
      store = t.container.media.store;
      org = await createOrg(t.app, 'Store owner');
      projectId = (await createProject(t.app, org)).id;
    });
    afterAll(async () => {
      await t.close();
      await s3?.close();
    });

    it('puts, streams back, lists, checks and deletes objects (multi-part above the part size)', async () => {
      const ctx = { orgId: org.id, projectId };
      const small = path.join(dir, 'small.bin');
      const large = path.join(dir, 'large.bin');
      writeFileSync(small, 'hello media');
      writeFileSync(large, randomBytes(PART_BYTES + 1234));
      const keys: string[] = [];
      for (const file of [small, large]) {
        const { sha256, bytes } = await sha256OfFile(file);
        const key = mediaKey(org.id, projectId, sha256, 'video/mp4');
        await store.put(ctx, key, { file, bytes, contentType: 'video/mp4' });
        const got = await store.get(ctx, key);
        expect(got?.bytes).toBe(bytes);
        const back = await collect(got?.stream as NodeJS.ReadableStream);
        expect(back.equals(readFileSync(file))).toBe(true);
        keys.push(key);
      }
      expect(await store.list(ctx, `org/${org.id}/project/${projectId}/`)).toEqual([...keys].sort());
      expect(await store.exists(ctx, keys[0] as string)).toBe(true);
      await store.delete(ctx, keys[0] as string);
      await store.delete(ctx, keys[0] as string);
      expect(await store.exists(ctx, keys[0] as string)).toBe(false);
      expect(await store.get(ctx, keys[0] as string)).toBeNull();
      await store.delete(ctx, keys[1] as string);
      expect(await store.list(ctx, `org/${org.id}/`)).toEqual([]);
    });

    it('refuses keys it did not make', async () => {
      await expect(store.get({ orgId: org.id, projectId }, '../../etc/passwd')).rejects.toThrow();
    });

    if (kind === 's3')
      it('sends SigV4-authorised requests: a store with an unknown access key is refused by the server', async () => {
        const wrong = createS3MediaStore({
          egress: t.container.egress,
          bucket: BUCKET,
          endpoint: 'https://s3.us-east-1.amazonaws.com',
          region: 'us-east-1',
          accessKeyId: 'AKIDUNKNOWN',
          secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey,
        });
        // (s3rver checks the access key of the SigV4 Authorization header, not the v4 signature itself.)
        await expect(wrong.list({ orgId: org.id, projectId: null }, `org/${org.id}/`)).rejects.toThrow();
        expect(await store.list({ orgId: org.id, projectId: null }, `org/${org.id}/`)).toEqual([]);
      });

    if (kind === 's3')
      it('sends S3 calls through the egress gateway (ledger: aws_s3, media_store)', async () => {
        let rows: { vendor: string; purpose: string }[] = [];
        for (let i = 0; i < 50 && rows.length === 0; i++) {
          rows = (
            await t.db.systemPool.query("SELECT vendor, purpose FROM egress_ledger WHERE vendor = 'aws_s3'")
          ).rows;
          if (rows.length === 0) await new Promise((r) => setTimeout(r, 100));
        }
        expect(rows[0]).toEqual({ vendor: 'aws_s3', purpose: 'media_store' });
      });

    it('partnership end: after the grace period the org’s objects and media rows are gone', async () => {
      const leaving = await createOrg(t.app, 'Leaving');
      const pid = (await createProject(t.app, leaving)).id;
      const res = await startGeneration(t, leaving, pid, {
        brief: { product: 'Leaving soon' },
        outputs: ['copy', 'image'],
      });
      await t.container.generations.run(leaving.id, res.json().id, 1);
      const ctx = { orgId: leaving.id, projectId: null };
      expect(await store.list(ctx, `org/${leaving.id}/`)).toHaveLength(2);
      await offboard(t, leaving.id);
      await t.container.retentionSweeper.sweep();
      expect(await store.list(ctx, `org/${leaving.id}/`)).toHaveLength(2);
      clock.advance(31 * DAY_MS);
      await t.container.retentionSweeper.sweep();
      clock.advance(-31 * DAY_MS);
      expect(await store.list(ctx, `org/${leaving.id}/`)).toEqual([]);
      const rows = await t.db.systemPool.query(
        'SELECT 1 FROM media_assets WHERE org_id = $1 UNION ALL SELECT 1 FROM generations WHERE org_id = $1',
        [leaving.id],
      );
      expect(rows.rowCount).toBe(0);
    });

    it('reports orphans both ways, and the grace-period purge removes objects and rows', async () => {
      const res = await startGeneration(t, org, projectId, {
        brief: { product: 'Orphan test' },
        outputs: ['copy', 'image'],
      });
      await t.container.generations.run(org.id, res.json().id, 1);
      const list = (await getJson(t, org, `/v1/projects/${projectId}/media`)).body.data as {
        id: string;
        sha256: string;
      }[];
      expect(list).toHaveLength(2);
      expect(await t.container.media.orphans([org.id])).toEqual({
        objectsWithoutRows: 0,
        rowsWithoutObjects: 0,
      });
      // An object without a row, and a row without its object.
      const stray = path.join(dir, 'stray.bin');
      writeFileSync(stray, 'stray');
      const { sha256, bytes } = await sha256OfFile(stray);
      await store.put({ orgId: org.id, projectId }, mediaKey(org.id, projectId, sha256, 'image/png'), {
        file: stray,
        bytes,
        contentType: 'image/png',
      });
      const first = list[0] as { id: string; sha256: string };
      await store.delete(
        { orgId: org.id, projectId },
        mediaKey(org.id, projectId, first.sha256, 'image/png'),
      );
      expect(await t.container.media.orphans([org.id])).toEqual({
        objectsWithoutRows: 1,
        rowsWithoutObjects: 1,
      });
      const report = await runVerify({
        db: t.db.system,
        clock,
        sweeper: t.container.retentionSweeper,
        media: t.container.media,
      });
      const check = report.checks.find((c) => c.name === 'media');
      expect(check?.violations.map((v) => v.message).sort()).toEqual([
        '1 media object(s) without a row',
        '1 media row(s) without their object',
      ]);

      await t.app.inject({ method: 'DELETE', url: `/v1/projects/${projectId}`, headers: bearer(org.secret) });
      expect((await t.container.retentionSweeper.sweep()).projects_purged).toBe(0);
      clock.advance(31 * DAY_MS);
      expect((await t.container.retentionSweeper.sweep()).projects_purged).toBe(1);
      expect(await store.list({ orgId: org.id, projectId: null }, `org/${org.id}/`)).toEqual([]);
      const rows = await t.db.systemPool.query('SELECT 1 FROM media_assets WHERE project_id = $1', [
        projectId,
      ]);
      expect(rows.rowCount).toBe(0);
      if (kind === 'fs') {
        const p = path.join(dir, 'org', org.id, 'project', projectId);
        expect(existsSync(p) ? readdirSync(p) : []).toEqual([]);
      }
    });
  });
}
