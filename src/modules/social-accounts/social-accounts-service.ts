import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import { systemScope, type TenantScope } from '../../lib/scope.ts';
import type { PlatformRegistry } from '../../platforms/platform-registry.ts';
import {
  type ConnectedIdentity,
  PlatformError,
  SOCIAL_PLATFORMS,
  type SocialPlatformName,
} from '../../platforms/social-platform.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { SocialAccountRow, SocialAccountsDal } from './social-accounts-dal.ts';
import type { SocialTokens } from './social-tokens.ts';

/**
 * Connecting social accounts (API.md "Social accounts"): the connect call makes an authorization URL
 * with PKCE (S256) and a one-time `state` (32 random bytes; only its SHA-256 is stored, bound to the
 * org, project, platform and return URL, with the verifier as ciphertext, for 10 minutes). The
 * callback takes the state once (the row is deleted as it is read), refuses a state it does not know
 * (forged or already used: 400, since there is nowhere safe to send the browser) and an expired one
 * (303 to the return URL with `error=state_expired`), exchanges the code, and creates or updates one
 * `sa_` per platform identity, then sends the browser back with `social_account_ids`.
 */
export const STATE_TTL_MS = 10 * 60_000;
export const VERIFIER_FIELD = 'code_verifier';
const RETURN_URL_MAX = 2048;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const base64url = (b: Buffer) => b.toString('base64url');
export const pkceChallenge = (verifier: string) => base64url(createHash('sha256').update(verifier).digest());

/** https anywhere; http only to this machine (development). No credentials, no fragment. */
export function checkReturnUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('parameter_invalid', 'return_url must be an absolute URL.', { param: 'return_url' });
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (
    raw.length > RETURN_URL_MAX ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && local)) ||
    url.username !== '' ||
    url.password !== '' ||
    url.hash !== ''
  )
    throw new AppError(
      'parameter_invalid',
      'return_url must be https (or http to localhost), without credentials or a fragment, at most 2,048 characters.',
      { param: 'return_url' },
    );
  return url.href;
}

function withQuery(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

export function createSocialAccountsService(deps: {
  appDb: Kysely<Database>;
  systemDb: Kysely<Database>;
  dal: SocialAccountsDal;
  envelope: Envelope;
  platforms: PlatformRegistry;
  tokens: SocialTokens;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  clock: Clock;
  publicUrl: string;
}) {
  const { dal, envelope, platforms, tokens, auditLog, events, clock } = deps;
  const redirectUri = (platform: SocialPlatformName) => `${deps.publicUrl}/v1/oauth/callback/${platform}`;

  async function load(scope: TenantScope, id: string): Promise<SocialAccountRow> {
    const row = isId('socialAccount', id) ? await dal.findById(scope.tx, scope.orgId, id) : undefined;
    if (!row) throw notFound('social account', 'socialAccountId');
    return row;
  }

  const eventBase = (row: SocialAccountRow) => ({
    id: row.id,
    object: 'social_account' as const,
    project_id: row.project_id,
    platform: row.platform,
  });

  /** Creates or updates (reconnect) the account of one identity, in the callback's transaction. */
  async function upsertIdentity(
    scope: TenantScope,
    projectId: string,
    identity: ConnectedIdentity,
  ): Promise<SocialAccountRow> {
    const existing = await dal.findIdentity(scope.tx, {
      orgId: scope.orgId,
      projectId,
      platform: identity.platform,
      platformUserId: identity.platformUserId,
    });
    const id = existing?.id ?? newId('socialAccount', scope.now.getTime());
    const columns = {
      ...tokens.tokenColumns(scope.orgId, id, identity.tokens),
      // A reconnect replaces it; a login without one (a platform other than Meta) stores none.
      ...tokens.userTokenColumns(scope.orgId, id, identity.grantUserToken, identity.grantUserTokenExpiresAt),
      handle: identity.handle,
      grant_user_id: identity.grantUserId,
      status: 'active' as const,
      scopes: identity.tokens.scopes,
      connected_at: scope.now,
      revoked_at: null,
      refresh_failures: 0,
      refresh_retry_at: null,
      refresh_lease_id: null,
      refresh_lease_until: null,
      updated_at: scope.now,
    };
    const row = existing
      ? await dal.update(scope.tx, scope.orgId, id, columns)
      : await dal.insert(scope.tx, {
          id,
          org_id: scope.orgId,
          project_id: projectId,
          platform: identity.platform,
          platform_user_id: identity.platformUserId,
          created_at: scope.now,
          ...columns,
        });
    await auditLog.record(scope, {
      action: existing ? 'social_account.reconnected' : 'social_account.connected',
      resource: { type: 'social_account', id },
      changes: {
        platform: { after: identity.platform },
        status: existing ? { before: existing.status, after: 'active' } : { after: 'active' },
        tokens: { after: '[set]' },
      },
    });
    await events.emit(scope, 'social_account.connected', {
      ...eventBase(row),
      status: 'active',
      reconnected: existing !== undefined,
    });
    return row;
  }

  return {
    get: load,
    list: (scope: TenantScope, projectId: string, page: PageParams) =>
      dal.listForProject(scope.tx, scope.orgId, projectId, page),

    platformsInfo() {
      return SOCIAL_PLATFORMS.map((platform) => {
        const adapter = platforms.forPlatform(platform);
        return { platform, configured: adapter.configured, scopes: [...adapter.scopes] };
      });
    },

    /** The authorization URL and the stored state (project already checked by the caller). */
    async startConnect(
      scope: TenantScope,
      projectId: string,
      input: { platform: SocialPlatformName; return_url: string },
    ): Promise<{ authorization_url: string; expires_at: string }> {
      const adapter = platforms.forPlatform(input.platform);
      if (!adapter.configured)
        throw new AppError(
          'parameter_invalid',
          `The platform ${input.platform} is not configured on this deployment.`,
          { param: 'platform' },
        );
      const returnUrl = checkReturnUrl(input.return_url);
      const state = base64url(randomBytes(32));
      const verifier = base64url(randomBytes(32));
      const stateHash = sha256(state);
      const expiresAt = new Date(scope.now.getTime() + STATE_TTL_MS);
      await dal.insertState(scope.tx, {
        state_hash: stateHash,
        org_id: scope.orgId,
        project_id: projectId,
        platform: input.platform,
        return_url: returnUrl,
        encrypted_code_verifier: envelope.encrypt(verifier, {
          orgId: scope.orgId,
          recordId: stateHash,
          field: VERIFIER_FIELD,
        }),
        expires_at: expiresAt,
        created_at: scope.now,
      });
      return {
        authorization_url: adapter.authorizationUrl({
          state,
          codeChallenge: pkceChallenge(verifier),
          redirectUri: redirectUri(input.platform),
        }),
        expires_at: expiresAt.toISOString(),
      };
    },

    /**
     * The platform sent the browser back. Answers where to send it next (303), or throws a 400 for
     * a state that is unknown, reused or for another platform.
     */
    async completeCallback(
      platform: SocialPlatformName,
      query: { code?: string | undefined; state?: string | undefined; error?: string | undefined },
      requestId: string,
    ): Promise<string> {
      const forged = () =>
        new AppError('invalid_request', 'The OAuth state is unknown, already used or expired.', {
          param: 'state',
        });
      if (!query.state) throw forged();
      const state = await dal.consumeState(deps.systemDb, sha256(query.state));
      if (!state || state.platform !== platform) throw forged();
      const now = clock.now();
      if (state.expires_at <= now) return withQuery(state.return_url, { error: 'state_expired' });
      if (query.error || !query.code)
        return withQuery(state.return_url, {
          error: query.error === 'access_denied' ? 'access_denied' : 'authorization_failed',
        });
      const verifier = envelope.decrypt(state.encrypted_code_verifier, {
        orgId: state.org_id,
        recordId: state.state_hash,
        field: VERIFIER_FIELD,
      });
      let identities: ConnectedIdentity[];
      try {
        identities = await platforms
          .forPlatform(platform)
          .connect(
            { orgId: state.org_id, projectId: state.project_id },
            { code: query.code, codeVerifier: verifier, redirectUri: redirectUri(platform) },
          );
      } catch (error) {
        if (!(error instanceof PlatformError)) throw error;
        return withQuery(state.return_url, {
          error: error.kind === 'reauth' ? 'invalid_grant' : 'platform_error',
        });
      }
      if (identities.length === 0) return withQuery(state.return_url, { error: 'no_accounts' });
      const rows = await withTenant(deps.appDb, state.org_id, async (tx) => {
        const scope = systemScope(tx, state.org_id, clock.now(), requestId);
        const out: SocialAccountRow[] = [];
        for (const identity of identities) out.push(await upsertIdentity(scope, state.project_id, identity));
        return out;
      });
      return withQuery(state.return_url, { social_account_ids: rows.map((r) => r.id).join(',') });
    },

    /** Tokens refused for good: needs_reconnect, tokens deleted, audited, one webhook. Idempotent. */
    async markNeedsReconnect(orgId: string, id: string): Promise<void> {
      await withTenant(deps.appDb, orgId, async (tx) => {
        const row = await dal.findSecrets(tx, orgId, id, true);
        if (row?.status !== 'active') return;
        const scope = systemScope(tx, orgId, clock.now());
        const updated = await dal.update(tx, orgId, id, {
          status: 'needs_reconnect',
          encrypted_access_token: null,
          encrypted_refresh_token: null,
          encrypted_user_access_token: null,
          user_token_expires_at: null,
          refresh_lease_id: null,
          refresh_lease_until: null,
          updated_at: scope.now,
        });
        await auditLog.record(scope, {
          action: 'social_account.needs_reconnect',
          resource: { type: 'social_account', id },
          changes: { status: { before: 'active', after: 'needs_reconnect' }, tokens: { after: '[deleted]' } },
        });
        await events.emit(scope, 'social_account.needs_reconnect', {
          ...eventBase(updated),
          status: 'needs_reconnect',
        });
      });
    },

    async posts(scope: TenantScope, id: string, limit: number) {
      await load(scope, id);
      const rows = await dal.listPosts(scope.tx, scope.orgId, id, limit + 1);
      const num = (v: string | null) => (v === null ? null : Number(v));
      return {
        object: 'list' as const,
        has_more: rows.length > limit,
        data: rows.slice(0, limit).map((r) => ({
          platform_post_id: r.platform_post_id,
          caption: r.caption,
          permalink: r.permalink,
          published_at: r.published_at ? r.published_at.toISOString() : null,
          metrics: {
            views: num(r.views),
            likes: num(r.likes),
            comments: num(r.comments),
            shares: num(r.shares),
          },
          synced_at: r.collected_at.toISOString(),
        })),
      };
    },

    eventBase,
  };
}

export type SocialAccountsService = ReturnType<typeof createSocialAccountsService>;

export function toSocialAccountResponse(row: SocialAccountRow) {
  return {
    id: row.id,
    object: 'social_account' as const,
    project_id: row.project_id,
    platform: row.platform,
    platform_user_id: row.platform_user_id,
    handle: row.handle,
    status: row.status,
    scopes: row.scopes,
    connected_at: row.connected_at.toISOString(),
    token_expires_at: row.token_expires_at ? row.token_expires_at.toISOString() : null,
    // Only Meta accounts carry a login's user token (ads); the field would mean nothing elsewhere.
    ...(row.platform === 'facebook' || row.platform === 'instagram'
      ? { ads_access_expires_at: row.user_token_expires_at ? row.user_token_expires_at.toISOString() : null }
      : {}),
    revoked_at: row.revoked_at ? row.revoked_at.toISOString() : null,
    last_synced_at: row.last_synced_at ? row.last_synced_at.toISOString() : null,
  };
}
