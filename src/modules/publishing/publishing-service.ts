import type { Static } from 'typebox';
import { enqueueJob } from '../../jobs/job-queue.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { PublisherRegistry } from '../../platforms/publishing-registry.ts';
import type { SocialPlatformName } from '../../platforms/social-platform.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { MediaService } from '../media/media-service.ts';
import type { SocialAccountsDal } from '../social-accounts/social-accounts-dal.ts';
import type { PublicationRow, PublishingDal } from './publishing-dal.ts';
import type { CreatePublicationBody } from './publishing-schemas.ts';

export const PUBLISHING_TASK = 'publishing.step';
export const publishingJobKey = (id: string) => `${PUBLISHING_TASK}:${id}`;

/**
 * What each platform takes, checked before anything is queued: the caption's length (TikTok and
 * Instagram 2,200 characters; YouTube's description 5,000, its title cut from the caption by the
 * adapter; Facebook far more, capped at the API's 5,000) and the media kinds (TikTok and YouTube
 * publish videos; Instagram and Facebook images and videos).
 */
const PLATFORM_RULES: Record<SocialPlatformName, { captionMax: number; kinds: readonly string[] }> = {
  tiktok: { captionMax: 2200, kinds: ['video'] },
  instagram: { captionMax: 2200, kinds: ['image', 'video'] },
  facebook: { captionMax: 5000, kinds: ['image', 'video'] },
  youtube: { captionMax: 5000, kinds: ['video'] },
};

type CreateBody = Static<typeof CreatePublicationBody>;

/**
 * The partner API of publications: every input is checked before anything is queued (the media of
 * the account's project, a kind the platform takes, the caption within the platform's limit, the
 * account active with the publisher's scopes); the publication then runs as the `publishing.step`
 * job (publishing-runner.ts). Another org's ids answer 404 (RLS hides them).
 */
export function createPublishingService(deps: {
  dal: PublishingDal;
  socialDal: SocialAccountsDal;
  media: MediaService;
  auditLog: AuditLogService;
  publishers: PublisherRegistry;
}) {
  const { dal } = deps;
  const invalid = (param: string, message: string) => new AppError('parameter_invalid', message, { param });

  async function account(scope: TenantScope, id: string) {
    const row = isId('socialAccount', id)
      ? await deps.socialDal.findById(scope.tx, scope.orgId, id)
      : undefined;
    if (!row) throw notFound('social account', 'socialAccountId');
    return row;
  }

  return {
    async create(scope: TenantScope, accountId: string, body: CreateBody): Promise<PublicationRow> {
      const acct = await account(scope, accountId);
      const publisher = deps.publishers.forPlatform(acct.platform);
      if (!publisher)
        throw new AppError('conflict', `Publishing to ${acct.platform} is not available yet.`, {
          param: 'socialAccountId',
        });
      if (acct.status !== 'active')
        throw new AppError(
          'conflict',
          `The social account is ${acct.status}: reconnect it (account_needs_reconnect) before publishing.`,
          { param: 'socialAccountId' },
        );
      const missing = publisher.requiredScopes(acct.platform).filter((s) => !acct.scopes.includes(s));
      if (missing.length > 0)
        throw new AppError(
          'conflict',
          `The social account lacks the publishing scopes ${missing.join(', ')}: reconnect it to grant them.`,
          { param: 'socialAccountId' },
        );
      const rules = PLATFORM_RULES[acct.platform];
      if ([...body.caption].length > rules.captionMax)
        throw invalid(
          'caption',
          `${acct.platform} takes captions of at most ${rules.captionMax} characters.`,
        );
      if (!isId('media', body.media_id)) throw notFound('media', 'media_id');
      let media: Awaited<ReturnType<MediaService['get']>>;
      try {
        media = await deps.media.get(scope, body.media_id);
      } catch {
        throw notFound('media', 'media_id');
      }
      if (media.project_id !== acct.project_id) throw notFound('media', 'media_id');
      if (!rules.kinds.includes(media.kind))
        throw invalid(
          'media_id',
          `${acct.platform} publishes ${rules.kinds.join(' and ')} media, not ${media.kind}.`,
        );
      const row = await dal.insert(scope.tx, {
        id: newId('publication', scope.now.getTime()),
        org_id: scope.orgId,
        project_id: acct.project_id,
        social_account_id: acct.id,
        platform: acct.platform,
        media_id: media.id,
        caption: body.caption,
        privacy: body.privacy ?? null,
        created_at: scope.now,
        updated_at: scope.now,
      });
      await enqueueJob(
        scope.tx,
        PUBLISHING_TASK,
        { org_id: row.org_id, publication_id: row.id },
        { jobKey: publishingJobKey(row.id) },
      );
      await deps.auditLog.record(scope, {
        action: 'publication.created',
        resource: { type: 'publication', id: row.id },
        changes: {
          platform: { after: row.platform },
          social_account_id: { after: row.social_account_id },
          media_id: { after: row.media_id },
        },
      });
      return row;
    },

    async get(scope: TenantScope, id: string): Promise<PublicationRow> {
      const row = isId('publication', id) ? await dal.find(scope.tx, scope.orgId, id) : undefined;
      if (!row) throw notFound('publication', 'publicationId');
      return row;
    },

    async list(scope: TenantScope, accountId: string, page: PageParams) {
      const acct = await account(scope, accountId);
      return dal.listOfAccount(scope.tx, scope.orgId, acct.id, page);
    },
  };
}

export type PublishingService = ReturnType<typeof createPublishingService>;

export function toPublicationResponse(row: PublicationRow) {
  return {
    id: row.id,
    object: 'publication' as const,
    project_id: row.project_id,
    social_account_id: row.social_account_id,
    platform: row.platform,
    media_id: row.media_id,
    status: row.status,
    ...(row.platform_post_id ? { platform_post_id: row.platform_post_id } : {}),
    ...(row.permalink ? { permalink: row.permalink } : {}),
    ...(row.error_code
      ? {
          error: {
            code: row.error_code,
            message: row.error_message ?? '',
            platform_code: row.error_platform_code,
          },
        }
      : {}),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    ...(row.published_at ? { published_at: row.published_at.toISOString() } : {}),
  };
}
