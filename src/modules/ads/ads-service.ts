import type { Static } from 'typebox';
import { enqueueJob } from '../../jobs/job-queue.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AdDeployer } from '../../platforms/ads-port.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { MediaService } from '../media/media-service.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { SocialAccountsDal } from '../social-accounts/social-accounts-dal.ts';
import type { AdDeploymentRow, AdsDal } from './ads-dal.ts';
import type { CreateAdDeploymentBody } from './ads-schemas.ts';

export const ADS_TASK = 'ads.deploy';
export const adsJobKey = (id: string) => `${ADS_TASK}:${id}`;
/** Which connected accounts can run each platform's ads (Meta: the Page the creative speaks for). */
const ACCOUNT_PLATFORM = { meta: 'facebook', tiktok: 'tiktok' } as const;
/** The AAD field of a deployment's advertiser token (org + deployment + field; key-rotation.ts). */
export const ADVERTISER_TOKEN_FIELD = 'advertiser_access_token';

type CreateBody = Static<typeof CreateAdDeploymentBody>;

/**
 * The partner API of ad deployments: every input is checked before anything is queued (the ad
 * account's shape, the media of the same project and a video, the social account of the same
 * project, active, with the platform's ads scopes); the deployment then runs as the `ads.deploy` job
 * (ads-runner.ts). Retry resumes a failed deployment from its checkpoint; cancel deletes at the
 * platform what exists. Another org's ids answer 404 (RLS hides them).
 */
export function createAdsService(deps: {
  dal: AdsDal;
  socialDal: SocialAccountsDal;
  media: MediaService;
  projects: ProjectsService;
  auditLog: AuditLogService;
  deployers: Partial<Record<'meta' | 'tiktok', AdDeployer>>;
  envelope: Envelope;
}) {
  const { dal } = deps;
  const invalid = (param: string, message: string) => new AppError('parameter_invalid', message, { param });

  async function load(scope: TenantScope, id: string, forUpdate = false): Promise<AdDeploymentRow> {
    const row = isId('adDeployment', id) ? await dal.find(scope.tx, scope.orgId, id, forUpdate) : undefined;
    if (!row) throw notFound('ad deployment', 'adDeploymentId');
    return row;
  }

  const sealToken = (scope: TenantScope, id: string, token: string) =>
    deps.envelope.encrypt(token, { orgId: scope.orgId, recordId: id, field: ADVERTISER_TOKEN_FIELD });

  const enqueue = (scope: TenantScope, row: AdDeploymentRow) =>
    enqueueJob(
      scope.tx,
      ADS_TASK,
      { org_id: row.org_id, ad_deployment_id: row.id },
      { jobKey: adsJobKey(row.id) },
    );

  /** Moves a deployment to `to` (from one of `from`), queues the runner, audits; else 409. */
  async function transition(
    scope: TenantScope,
    id: string,
    from: readonly AdDeploymentRow['status'][],
    to: 'queued' | 'cancelling',
    action: 'retried' | 'cancel_requested',
    token: string | undefined,
  ): Promise<AdDeploymentRow> {
    const row = await load(scope, id, true);
    if (!from.includes(row.status))
      throw new AppError(
        'conflict',
        `An ad deployment that is ${row.status} cannot be ${to === 'queued' ? 'retried' : 'cancelled'}.`,
      );
    if (token !== undefined && deps.deployers[row.platform]?.token !== 'advertiser')
      throw invalid('advertiser_access_token', `${row.platform} ads use the connected account’s token.`);
    const patch = {
      status: to,
      attempts: 0,
      next_step_at: null,
      updated_at: scope.now,
      ...(to === 'queued' ? { error_code: null, error_message: null, error_platform_code: null } : {}),
      ...(token !== undefined ? { encrypted_advertiser_token: sealToken(scope, id, token) } : {}),
    };
    await dal.update(scope.tx, scope.orgId, id, patch);
    await enqueue(scope, row);
    await deps.auditLog.record(scope, {
      action: `ad_deployment.${action}`,
      resource: { type: 'ad_deployment', id },
      changes: {
        status: { before: row.status, after: to },
        ...(token !== undefined ? { advertiser_access_token: { before: '[set]', after: '[replaced]' } } : {}),
      },
    });
    return { ...row, ...patch };
  }

  return {
    async create(scope: TenantScope, projectId: string, body: CreateBody): Promise<AdDeploymentRow> {
      await deps.projects.get(scope, projectId);
      const deployer = deps.deployers[body.platform];
      if (!deployer) throw invalid('platform', `Ad deployments on ${body.platform} are not available.`);
      const adAccountId = deployer.normaliseAdAccountId(body.ad_account_id);
      if (!adAccountId)
        throw invalid(
          'ad_account_id',
          body.platform === 'meta'
            ? 'ad_account_id must be act_<digits> or the digits of a Meta ad account.'
            : 'ad_account_id must be the digits of a TikTok advertiser id.',
        );
      const account = isId('socialAccount', body.social_account_id)
        ? await deps.socialDal.findById(scope.tx, scope.orgId, body.social_account_id)
        : undefined;
      if (!account || account.project_id !== projectId) throw notFound('social account', 'social_account_id');
      if (account.platform !== ACCOUNT_PLATFORM[body.platform])
        throw invalid(
          'social_account_id',
          `${body.platform} ads need a connected ${ACCOUNT_PLATFORM[body.platform]} account.`,
        );
      if (account.status !== 'active')
        throw invalid('social_account_id', 'The social account needs to be reconnected first.');
      const missing = deployer.requiredScopes.filter((s) => !account.scopes.includes(s));
      if (missing.length > 0)
        throw invalid(
          'social_account_id',
          `The social account lacks the scopes ${missing.join(', ')}: reconnect it.`,
        );
      let media: Awaited<ReturnType<MediaService['get']>>;
      try {
        media = await deps.media.get(scope, body.media_id);
      } catch {
        throw notFound('media', 'media_id');
      }
      if (media.project_id !== projectId) throw notFound('media', 'media_id');
      if (media.kind !== 'video') throw invalid('media_id', 'Ad deployments need a generated video.');
      const countries = body.countries ?? ['US'];
      const refusal = deployer.refusal({ body: body.body, countries });
      if (refusal) throw invalid(refusal.param, refusal.message);
      const token = body.advertiser_access_token;
      if (deployer.token === 'advertiser' && token === undefined)
        throw invalid('advertiser_access_token', `${body.platform} ads need the advertiser_access_token.`);
      if (deployer.token !== 'advertiser' && token !== undefined)
        throw invalid('advertiser_access_token', `${body.platform} ads use the connected account’s token.`);
      if (deployer.token !== 'advertiser' && body.display_name !== undefined)
        throw invalid('display_name', `${body.platform} ads show the connected account’s name.`);
      const displayName =
        deployer.token === 'advertiser' ? (body.display_name ?? account.handle?.slice(0, 40) ?? null) : null;
      if (deployer.token === 'advertiser' && !displayName?.trim())
        throw invalid(
          'display_name',
          'The connected account has no handle: give the display_name the ad shows.',
        );
      const id = newId('adDeployment', scope.now.getTime());
      const row = await dal.insert(scope.tx, {
        id,
        org_id: scope.orgId,
        project_id: projectId,
        platform: body.platform,
        social_account_id: account.id,
        ad_account_id: adAccountId,
        media_id: media.id,
        headline: body.headline,
        body: body.body,
        daily_budget_cents: body.daily_budget_cents,
        countries,
        display_name: displayName,
        encrypted_advertiser_token:
          token === undefined
            ? null
            : deps.envelope.encrypt(token, {
                orgId: scope.orgId,
                recordId: id,
                field: ADVERTISER_TOKEN_FIELD,
              }),
        status: 'queued',
        created_at: scope.now,
        updated_at: scope.now,
      });
      await enqueue(scope, row);
      await deps.auditLog.record(scope, {
        action: 'ad_deployment.requested',
        resource: { type: 'ad_deployment', id: row.id },
        changes: {
          platform: { after: row.platform },
          daily_budget_cents: { after: String(row.daily_budget_cents) },
        },
      });
      return row;
    },

    get: (scope: TenantScope, id: string) => load(scope, id),

    async list(scope: TenantScope, projectId: string, page: PageParams) {
      await deps.projects.get(scope, projectId);
      return dal.list(scope.tx, scope.orgId, projectId, page);
    },

    /**
     * At the end of a partnership (the offboarding transaction): advertiser tokens are credentials
     * like the OAuth tokens, deleted at once, while the deployments' rows wait out the grace period
     * of generated media. A deployment still running then fails with account_needs_reconnect.
     */
    onOffboard: (scope: TenantScope) => dal.forgetTokens(scope.tx, scope.orgId),

    /** `token`: a new advertiser token (TikTok), replacing the one given before. */
    retry: (scope: TenantScope, id: string, token?: string) =>
      transition(scope, id, ['failed'], 'queued', 'retried', token),

    cancel: (scope: TenantScope, id: string, token?: string) =>
      transition(
        scope,
        id,
        ['queued', 'creating', 'created', 'failed'],
        'cancelling',
        'cancel_requested',
        token,
      ),
  };
}

export type AdsService = ReturnType<typeof createAdsService>;

export function toAdDeploymentResponse(row: AdDeploymentRow) {
  const ids = Object.fromEntries(
    (['video_id', 'campaign_id', 'ad_set_id', 'creative_id', 'ad_id'] as const).flatMap((k) => {
      const v = row.checkpoint[k];
      return typeof v === 'string' ? [[k, v]] : [];
    }),
  );
  return {
    id: row.id,
    object: 'ad_deployment' as const,
    project_id: row.project_id,
    platform: row.platform,
    social_account_id: row.social_account_id,
    ad_account_id: row.platform === 'meta' ? `act_${row.ad_account_id}` : row.ad_account_id,
    media_id: row.media_id,
    daily_budget_cents: row.daily_budget_cents,
    status: row.status,
    platform_ids: ids,
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
  };
}
