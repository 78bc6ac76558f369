import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { MediaDal, MediaRow } from './media-dal.ts';
import type { MediaSigner } from './media-signing.ts';
import { type MediaStore, mediaKey, projectPrefix } from './media-store.ts';

/**
 * Media: objects in the media store and their rows (registry class generated_media). An object is
 * written before its row (a crash leaves an object without a row, which `layers verify` reports and
 * the project purge removes); deleting removes the row, then the object unless another row of the
 * org shares its content-addressed key.
 */
export async function sha256OfFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes: (await stat(file)).size };
}

export type NewMedia = {
  kind: 'image' | 'video';
  contentType: string;
  width: number;
  height: number;
  durationMs: number | null;
  file: string;
};

export function createMediaService(deps: {
  dal: MediaDal;
  store: MediaStore;
  signer: MediaSigner;
  projects: ProjectsService;
  auditLog: AuditLogService;
  systemDb: Kysely<Database>;
  publicUrl: () => string;
}) {
  const { dal, store, signer } = deps;

  function toResponse(row: MediaRow, now: Date) {
    const signed = signer.sign(row.id, row.org_id, now);
    return {
      id: row.id,
      object: 'media' as const,
      project_id: row.project_id,
      generation_id: row.generation_id,
      kind: row.kind,
      content_type: row.content_type,
      width: row.width,
      height: row.height,
      ...(row.duration_ms === null ? {} : { duration_ms: row.duration_ms }),
      bytes: Number(row.bytes),
      sha256: row.sha256,
      created_at: row.created_at.toISOString(),
      url: `${deps.publicUrl()}${signed.path}`,
      url_expires_at: signed.expiresAt.toISOString(),
    };
  }

  async function load(scope: TenantScope, id: string): Promise<MediaRow> {
    const row = isId('media', id) ? await dal.find(scope.tx, scope.orgId, id) : undefined;
    if (!row) throw notFound('media', 'mediaId');
    return row;
  }

  async function deleteObjectIfUnshared(tx: Kysely<Database>, row: MediaRow): Promise<void> {
    if ((await dal.othersWithKey(tx, row.org_id, row.storage_key, row.id)) === 0)
      await store.delete({ orgId: row.org_id, projectId: row.project_id }, row.storage_key);
  }

  return {
    toResponse,
    store,

    /** Uploads a rendered file (streamed: hashed, then written) and returns its row values. */
    async upload(orgId: string, projectId: string, media: NewMedia) {
      const { sha256, bytes } = await sha256OfFile(media.file);
      const key = mediaKey(orgId, projectId, sha256, media.contentType);
      try {
        await store.put({ orgId, projectId }, key, {
          file: media.file,
          bytes,
          contentType: media.contentType,
        });
      } catch (error) {
        throw Object.assign(new Error('media store write failed'), { mediaStore: true, cause: error });
      }
      return { sha256, bytes, key };
    },

    async insert(
      tx: Kysely<Database>,
      row: {
        orgId: string;
        projectId: string;
        generationId: string;
        media: NewMedia;
        sha256: string;
        bytes: number;
        key: string;
        now: Date;
      },
    ): Promise<MediaRow> {
      return dal.insert(tx, {
        id: newId('media', row.now.getTime()),
        org_id: row.orgId,
        project_id: row.projectId,
        generation_id: row.generationId,
        kind: row.media.kind,
        content_type: row.media.contentType,
        width: row.media.width,
        height: row.media.height,
        duration_ms: row.media.durationMs,
        bytes: row.bytes,
        sha256: row.sha256,
        store: store.kind,
        storage_key: row.key,
        created_at: row.now,
      });
    },

    /** Removes a generation's media (a retried attempt starts clean). */
    async removeOfGeneration(tx: Kysely<Database>, orgId: string, generationId: string): Promise<void> {
      for (const row of await dal.ofGeneration(tx, orgId, generationId)) {
        await dal.delete(tx, orgId, row.id);
        await deleteObjectIfUnshared(tx, row);
      }
    },

    ofGeneration: (tx: Kysely<Database>, orgId: string, generationId: string) =>
      dal.ofGeneration(tx, orgId, generationId),

    get: load,

    async list(scope: TenantScope, projectId: string, page: PageParams) {
      await deps.projects.get(scope, projectId);
      return dal.list(scope.tx, scope.orgId, projectId, page);
    },

    async remove(scope: TenantScope, id: string): Promise<MediaRow> {
      const row = await load(scope, id);
      await dal.delete(scope.tx, scope.orgId, id);
      await deleteObjectIfUnshared(scope.tx, row);
      await deps.auditLog.record(scope, {
        action: 'media.deleted',
        resource: { type: 'media', id },
        changes: { sha256: { before: row.sha256 }, bytes: { before: String(row.bytes) } },
      });
      return row;
    },

    /** GET /media/:id?exp&sig: the object's stream when the signature holds (403 otherwise, 404 when gone). */
    async openSigned(id: string, exp: string, sig: string, now: Date) {
      const row = isId('media', id) ? await dal.systemFind(deps.systemDb, id) : undefined;
      // An unknown id answers like a bad signature: the URL does not reveal which ids exist.
      const verdict = row ? signer.verify(id, row.org_id, exp, sig, now) : 'invalid';
      if (!row || verdict !== 'ok')
        throw new AppError(
          'signature_invalid',
          verdict === 'expired'
            ? 'This media URL has expired; fetch the media again for a fresh URL.'
            : 'This media URL is not valid.',
        );
      const object = await store.get({ orgId: row.org_id, projectId: row.project_id }, row.storage_key);
      if (!object) throw notFound('media');
      return { row, ...object };
    },

    /** Deletes every object of a project (its rows go with the project purge that calls this). */
    async purgeProjectObjects(orgId: string, projectId: string): Promise<number> {
      const ctx = { orgId, projectId };
      const keys = new Set(
        (await dal.systemKeysOfProject(deps.systemDb, projectId)).map((r) => r.storage_key),
      );
      for (const key of await store.list(ctx, projectPrefix(orgId, projectId))) keys.add(key);
      for (const key of keys) await store.delete(ctx, key);
      return keys.size;
    },

    /** Deletes every object of an org (partnership end; its rows go with the class purge). */
    async purgeOrgObjects(orgId: string): Promise<number> {
      let n = 0;
      for (const r of await dal.systemKeysOfOrg(deps.systemDb, orgId)) {
        await store.delete({ orgId, projectId: r.project_id }, r.storage_key);
        n++;
      }
      for (const key of await store.list({ orgId, projectId: null }, `org/${orgId}/`)) {
        await store.delete({ orgId, projectId: null }, key);
        n++;
      }
      return n;
    },

    /** layers verify: objects without rows and rows without objects, per org (counts and keys' shapes only). */
    async orphans(orgIds: string[]): Promise<{ objectsWithoutRows: number; rowsWithoutObjects: number }> {
      const rows = (await dal.systemAllRows(deps.systemDb)).filter((r) => orgIds.includes(r.org_id));
      const keys = new Set(rows.map((r) => r.storage_key));
      let objectsWithoutRows = 0;
      let rowsWithoutObjects = 0;
      for (const orgId of orgIds)
        for (const key of await store.list({ orgId, projectId: null }, `org/${orgId}/`))
          if (!keys.has(key)) objectsWithoutRows++;
      for (const r of rows)
        if (!(await store.exists({ orgId: r.org_id, projectId: r.project_id }, r.storage_key)))
          rowsWithoutObjects++;
      return { objectsWithoutRows, rowsWithoutObjects };
    },
  };
}

export type MediaService = ReturnType<typeof createMediaService>;
