import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { refusedFindings, scanCall } from '../../egress/content-guard.ts';
import { enqueueJob } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import { systemScope, type TenantScope } from '../../lib/scope.ts';
import { type AdCopy, paletteFor } from '../../rendering/ad-template.ts';
import { renderAdImage, SQUARE, VERTICAL } from '../../rendering/image-renderer.ts';
import type { RenderGate } from '../../rendering/render-gate.ts';
import { RenderError, renderAdVideo } from '../../rendering/video-renderer.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { MediaService, NewMedia } from '../media/media-service.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { GenerationDal, GenerationRow } from './generation-dal.ts';
import { type Brief, buildPrompt, COPY_VARIANTS, declaredBrief } from './prompt-builder.ts';
import { type CopyProvider, GenerationError, type ProviderName } from './provider-port.ts';

export const GENERATION_TASK = 'generation.run';
export const GENERATION_QUEUE = 'generation';
export type Output = 'copy' | 'image' | 'video';

/**
 * Generations: a brief → copy variants, two images (1080×1080, 1080×1920) and a vertical video, as a
 * job (`generation.run`). The row goes queued → running → succeeded | failed; a retryable failure
 * (vendor timeout, rate limit, outage) is retried by the queue up to LAYERS_GENERATION_MAX_ATTEMPTS,
 * after which it is `failed` with a clear `error.code`. Outcomes emit `generation.succeeded|failed`
 * and are audited. The vendor call is outside any transaction; rendering goes through the render gate.
 */
export function createGenerationService(deps: {
  dal: GenerationDal;
  media: MediaService;
  projects: ProjectsService;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  providers: Partial<Record<ProviderName, CopyProvider>>;
  gate: RenderGate;
  systemDb: Kysely<Database>;
  clock: Clock;
  maxAttempts: number;
  videoDurationMs: number;
}) {
  const { dal } = deps;

  async function load(scope: TenantScope, id: string): Promise<GenerationRow> {
    const row = isId('generation', id) ? await dal.find(scope.tx, scope.orgId, id) : undefined;
    if (!row) throw notFound('generation', 'generationId');
    return row;
  }

  async function render(row: GenerationRow, copy: AdCopy[], brief: Brief, dir: string) {
    const first = copy[0] as AdCopy;
    const b = declaredBrief(brief);
    const palette = paletteFor(`${b.product}\n${b.tone ?? ''}`);
    const out: NewMedia[] = [];
    if (row.outputs.includes('image')) {
      for (const format of [SQUARE, VERTICAL]) {
        const file = path.join(dir, `image-${format.width}x${format.height}.png`);
        await deps.gate.run(() => renderAdImage(format, first, b.product, palette, file));
        out.push({
          kind: 'image',
          contentType: 'image/png',
          width: format.width,
          height: format.height,
          durationMs: null,
          file,
        });
      }
    }
    if (row.outputs.includes('video')) {
      const video = await deps.gate.run(() =>
        renderAdVideo({ copy: first, brand: b.product, palette, durationMs: deps.videoDurationMs }),
      );
      out.push({
        kind: 'video',
        contentType: 'video/mp4',
        width: video.width,
        height: video.height,
        durationMs: video.durationMs,
        file: video.file,
      });
      return { media: out, cleanup: video.cleanup };
    }
    return { media: out, cleanup: async () => {} };
  }

  async function finish(
    row: GenerationRow,
    outcome:
      | { copy: AdCopy[]; media: NewMedia[]; uploads: { sha256: string; bytes: number; key: string }[] }
      | GenerationError,
  ) {
    const now = deps.clock.now();
    await withTenant(deps.systemDb, row.org_id, async (tx) => {
      const scope = systemScope(tx, row.org_id, now);
      if (outcome instanceof GenerationError) {
        await dal.update(tx, row.org_id, row.id, {
          status: 'failed',
          error_code: outcome.code,
          error_message: outcome.message.slice(0, 500),
          completed_at: now,
          updated_at: now,
        });
        await deps.auditLog.record(scope, {
          action: 'generation.failed',
          resource: { type: 'generation', id: row.id },
          changes: { status: { before: row.status, after: 'failed' }, error_code: { after: outcome.code } },
        });
        await deps.events.emit(scope, 'generation.failed', {
          id: row.id,
          object: 'generation',
          project_id: row.project_id,
          status: 'failed',
          provider: row.provider,
          error_code: outcome.code,
        });
        return;
      }
      const ids: string[] = [];
      for (const [i, m] of outcome.media.entries()) {
        const u = outcome.uploads[i] as { sha256: string; bytes: number; key: string };
        const inserted = await deps.media.insert(tx, {
          orgId: row.org_id,
          projectId: row.project_id,
          generationId: row.id,
          media: m,
          ...u,
          now,
        });
        ids.push(inserted.id);
      }
      await dal.update(tx, row.org_id, row.id, {
        status: 'succeeded',
        copy: JSON.stringify(outcome.copy),
        error_code: null,
        error_message: null,
        completed_at: now,
        updated_at: now,
      });
      await deps.auditLog.record(scope, {
        action: 'generation.succeeded',
        resource: { type: 'generation', id: row.id },
        changes: { status: { before: row.status, after: 'succeeded' }, media: { after: String(ids.length) } },
      });
      await deps.events.emit(scope, 'generation.succeeded', {
        id: row.id,
        object: 'generation',
        project_id: row.project_id,
        status: 'succeeded',
        provider: row.provider,
        media_ids: ids,
      });
    });
  }

  return {
    get: load,
    mediaIds: async (scope: TenantScope, row: GenerationRow) =>
      (await deps.media.ofGeneration(scope.tx, scope.orgId, row.id)).map((m) => m.id),

    async create(
      scope: TenantScope,
      projectId: string,
      input: { brief: Brief; outputs?: Output[] | undefined; provider?: ProviderName | undefined },
    ): Promise<GenerationRow> {
      await deps.projects.requireActive(scope, projectId, 'projectId');
      const name = input.provider ?? 'default';
      const provider = deps.providers[name];
      if (!provider)
        throw new AppError(
          'parameter_invalid',
          `The provider '${name}' is not configured on this deployment.`,
          { param: 'provider' },
        );
      const brief = declaredBrief(input.brief);
      // The narrowest prompt: a brief that carries what looks like an end-customer identifier is refused here.
      const refused = refusedFindings('llm', scanCall(new URL('https://brief.invalid/'), { json: brief }));
      if (refused.length > 0)
        throw new AppError(
          'parameter_invalid',
          `The brief must not carry personal data (found: ${refused.join(', ')}).`,
          { param: 'brief' },
        );
      const outputs = [...new Set(input.outputs ?? ['copy', 'image', 'video'])];
      const prompt = buildPrompt(brief);
      const row = await dal.insert(scope.tx, {
        id: newId('generation', scope.now.getTime()),
        org_id: scope.orgId,
        project_id: projectId,
        status: 'queued',
        provider: name,
        model: provider.model,
        retention_mode: provider.retentionMode,
        outputs: outputs.includes('copy') ? outputs : ['copy', ...outputs],
        brief,
        prompt_sha256: prompt.sha256,
        prompt_bytes: prompt.bytes,
        created_at: scope.now,
        updated_at: scope.now,
      });
      await deps.auditLog.record(scope, {
        action: 'generation.created',
        resource: { type: 'generation', id: row.id },
        changes: {
          provider: { after: name },
          outputs: { after: row.outputs.join(',') },
          prompt_sha256: { after: prompt.sha256 },
        },
      });
      await enqueueJob(
        scope.tx,
        GENERATION_TASK,
        { org_id: scope.orgId, generation_id: row.id },
        {
          jobKey: `generation:${row.id}`,
          maxAttempts: deps.maxAttempts,
          // One named queue: generations run one at a time, so they hold at most one worker slot
          // and never crowd out webhook deliveries or erasures (the render gate bounds the CPU).
          queueName: GENERATION_QUEUE,
        },
      );
      return row;
    },

    /**
     * The job. `attempt` counts from 1; a retryable error is rethrown (the queue retries) until the
     * last attempt, which records `failed`.
     */
    async run(orgId: string, generationId: string, attempt = 1): Promise<GenerationRow['status']> {
      const now = deps.clock.now();
      const row = await withTenant(deps.systemDb, orgId, async (tx) => {
        const r = await dal.lock(tx, orgId, generationId);
        if (!r || r.status === 'succeeded' || r.status === 'failed') return r;
        await deps.media.removeOfGeneration(tx, orgId, generationId);
        return dal.update(tx, orgId, generationId, {
          status: 'running',
          attempts: r.attempts + 1,
          updated_at: now,
        });
      });
      if (!row) return 'failed';
      if (row.status !== 'running') return row.status;
      const provider = deps.providers[row.provider];
      const brief = row.brief as Brief;
      const dir = await mkdtemp(path.join(tmpdir(), 'layers-gen-'));
      let cleanup = async () => {};
      try {
        if (!provider)
          throw new GenerationError(
            'internal_error',
            `The provider '${row.provider}' is no longer configured.`,
          );
        const prompt = buildPrompt(brief);
        const copy = await provider.generateCopy({
          orgId,
          projectId: row.project_id,
          prompt,
          brief,
          variants: COPY_VARIANTS,
        });
        const rendered = await render(row, copy, brief, dir);
        cleanup = rendered.cleanup;
        const uploads = [];
        for (const m of rendered.media) uploads.push(await deps.media.upload(orgId, row.project_id, m));
        await finish(row, { copy, media: rendered.media, uploads });
        return 'succeeded';
      } catch (error) {
        const failure = classify(error);
        if (failure.retryable && attempt < deps.maxAttempts) {
          await withTenant(deps.systemDb, orgId, (tx) =>
            dal.update(tx, orgId, generationId, {
              status: 'queued',
              error_code: failure.code,
              error_message: failure.message.slice(0, 500),
              updated_at: deps.clock.now(),
            }),
          );
          throw failure;
        }
        await finish(row, failure);
        return 'failed';
      } finally {
        await cleanup();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

function classify(error: unknown): GenerationError {
  if (error instanceof GenerationError) return error;
  if (error instanceof RenderError) return new GenerationError(error.code, error.message, false);
  if ((error as { mediaStore?: boolean }).mediaStore)
    return new GenerationError('media_store_failed', 'The media store could not be written.', true);
  return new GenerationError('internal_error', 'The generation failed unexpectedly.', true);
}

export type GenerationService = ReturnType<typeof createGenerationService>;

export function toGenerationResponse(row: GenerationRow, mediaIds: string[]) {
  return {
    id: row.id,
    object: 'generation' as const,
    project_id: row.project_id,
    status: row.status,
    provider: row.provider,
    model: row.model,
    retention_mode: row.retention_mode,
    outputs: row.outputs,
    brief: row.brief as Brief,
    copy: (row.copy as AdCopy[] | null) ?? [],
    media_ids: mediaIds,
    prompt: row.prompt_sha256 === null ? null : { sha256: row.prompt_sha256, bytes: row.prompt_bytes ?? 0 },
    attempts: row.attempts,
    ...(row.error_code && row.status === 'failed'
      ? { error: { code: row.error_code, message: row.error_message ?? '' } }
      : {}),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    completed_at: row.completed_at ? row.completed_at.toISOString() : null,
  };
}
