import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import type { PlatformRegistry } from '../../platforms/platform-registry.ts';
import { PlatformError, type StoredCredentials, type TokenSet } from '../../platforms/social-platform.ts';
import type { SocialAccountSecrets, SocialAccountsDal } from './social-accounts-dal.ts';
import type { SocialMetrics } from './social-metrics.ts';

/**
 * OAuth tokens of social accounts: envelope ciphertext bound to (org, account, field), decrypted only
 * in memory for the call that needs them, and refreshed ahead of expiry.
 *
 * Refresh is single-flight per account across processes: a caller takes the row lock
 * (`SELECT … FOR UPDATE`), re-reads the row under it, and either finds the token fresh (another
 * process refreshed it: use that), finds a live refresh lease (another process is refreshing: wait
 * and re-read), or sets its own lease and commits. The platform call then happens outside any
 * transaction (no connection is held across a vendor call); its result is written with the lease as
 * a fence, access and rotated refresh token in the same UPDATE. Within a process, concurrent callers
 * for one account share one promise. `invalid_grant` / Meta 190 → needs_reconnect (tokens deleted, a
 * `social_account.needs_reconnect` webhook) and no further attempt; transient failures back off
 * (refresh_retry_at, doubling to an hour) instead of retrying at every call.
 */
export const ACCESS_FIELD = 'access_token';
export const REFRESH_FIELD = 'refresh_token';
/** Meta: the login's user token kept beside a Page's token (0026), for the Marketing API. */
export const USER_TOKEN_FIELD = 'user_access_token';
/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 10 * 60_000;
const LEASE_MS = 60_000;
const WAIT_STEP_MS = 50;
const WAIT_MAX_MS = 45_000;

export type NeedsReconnectHandler = (orgId: string, accountId: string) => Promise<void>;

export function createSocialTokens(deps: {
  db: Kysely<Database>;
  dal: SocialAccountsDal;
  envelope: Envelope;
  platforms: PlatformRegistry;
  clock: Clock;
  onNeedsReconnect: NeedsReconnectHandler;
  metrics?: SocialMetrics;
  sleep?: (ms: number) => Promise<void>;
}) {
  const { db, dal, envelope, platforms, clock } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const inFlight = new Map<string, Promise<StoredCredentials>>();

  const ctx = (orgId: string, id: string, field: string) => ({ orgId, recordId: id, field });
  const seal = (orgId: string, id: string, field: string, value: string | null) =>
    value === null ? null : envelope.encrypt(value, ctx(orgId, id, field));
  const open = (orgId: string, id: string, field: string, value: string | null) =>
    value === null ? null : envelope.decrypt(value, ctx(orgId, id, field));

  function credentialsOf(row: SocialAccountSecrets): StoredCredentials {
    return {
      platform: row.platform,
      platformUserId: row.platform_user_id,
      grantUserId: row.grant_user_id,
      accessToken: open(row.org_id, row.id, ACCESS_FIELD, row.encrypted_access_token),
      refreshToken: open(row.org_id, row.id, REFRESH_FIELD, row.encrypted_refresh_token),
      grantUserToken: open(row.org_id, row.id, USER_TOKEN_FIELD, row.encrypted_user_access_token),
      grantUserTokenExpiresAt: row.user_token_expires_at,
    };
  }

  const fresh = (row: SocialAccountSecrets, now: Date) =>
    row.token_expires_at === null || row.token_expires_at.getTime() - REFRESH_MARGIN_MS > now.getTime();

  /** The columns that store a token set (access and refresh in the same write). */
  function tokenColumns(orgId: string, id: string, tokens: TokenSet) {
    return {
      encrypted_access_token: seal(orgId, id, ACCESS_FIELD, tokens.accessToken),
      encrypted_refresh_token: seal(orgId, id, REFRESH_FIELD, tokens.refreshToken),
      token_expires_at: tokens.expiresAt,
      refresh_expires_at: tokens.refreshExpiresAt,
    };
  }

  type Claim =
    | { state: 'fresh'; row: SocialAccountSecrets }
    | { state: 'claimed'; row: SocialAccountSecrets; leaseId: string }
    | { state: 'wait' }
    | { state: 'backoff'; row: SocialAccountSecrets }
    | { state: 'gone' };

  async function claim(orgId: string, id: string): Promise<Claim> {
    return withTenant(db, orgId, async (tx) => {
      const row = await dal.findSecrets(tx, orgId, id, true);
      if (row?.status !== 'active' || row.encrypted_access_token === null) return { state: 'gone' };
      const now = clock.now();
      if (fresh(row, now)) return { state: 'fresh', row };
      if (row.refresh_lease_until && row.refresh_lease_until > now) return { state: 'wait' };
      if (row.refresh_retry_at && row.refresh_retry_at > now) return { state: 'backoff', row };
      const leaseId = randomUUID();
      await dal.update(tx, orgId, id, {
        refresh_lease_id: leaseId,
        refresh_lease_until: new Date(now.getTime() + LEASE_MS),
      });
      return { state: 'claimed', row, leaseId };
    });
  }

  async function runRefresh(orgId: string, id: string, row: SocialAccountSecrets, leaseId: string) {
    const adapter = platforms.forPlatform(row.platform);
    const current = credentialsOf(row);
    let tokens: TokenSet | null;
    try {
      tokens = await adapter.refresh({ orgId, projectId: row.project_id }, current);
    } catch (error) {
      const kind = error instanceof PlatformError ? error.kind : 'transient';
      deps.metrics?.refreshes.inc({
        platform: row.platform,
        outcome: kind === 'reauth' ? 'reauth' : 'transient',
      });
      if (kind === 'reauth') {
        await deps.onNeedsReconnect(orgId, id);
      } else {
        await withTenant(db, orgId, async (tx) => {
          const failures = row.refresh_failures + 1;
          const backoff = Math.min(60 * 60_000, 30_000 * 2 ** Math.min(failures - 1, 7));
          await lockedUpdate(tx, orgId, id, leaseId, {
            refresh_failures: failures,
            refresh_retry_at: new Date(clock.now().getTime() + backoff),
          });
        });
      }
      throw error;
    }
    if (tokens === null) {
      // No refresh at this platform (Meta): the token is used until it fails with 190.
      await withTenant(db, orgId, (tx) => lockedUpdate(tx, orgId, id, leaseId, {}));
      return current;
    }
    deps.metrics?.refreshes.inc({ platform: row.platform, outcome: 'refreshed' });
    await withTenant(db, orgId, (tx) =>
      lockedUpdate(tx, orgId, id, leaseId, {
        ...tokenColumns(orgId, id, tokens),
        scopes: tokens.scopes.length > 0 ? tokens.scopes : row.scopes,
        refresh_failures: 0,
        refresh_retry_at: null,
      }),
    );
    return { ...current, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  }

  /** Writes only while this caller's lease is still the row's (the fence), and releases it. */
  async function lockedUpdate(
    tx: Kysely<Database>,
    orgId: string,
    id: string,
    leaseId: string,
    patch: Parameters<SocialAccountsDal['update']>[3],
  ) {
    const row = await dal.findSecrets(tx, orgId, id, true);
    if (!row || row.refresh_lease_id !== leaseId) return;
    await dal.update(tx, orgId, id, {
      ...patch,
      refresh_lease_id: null,
      refresh_lease_until: null,
      updated_at: clock.now(),
    });
  }

  async function freshCredentials(orgId: string, id: string): Promise<StoredCredentials> {
    const started = Date.now();
    for (;;) {
      const c = await claim(orgId, id);
      if (c.state === 'gone') throw new PlatformError('reauth', 'social account has no live token');
      if (c.state === 'fresh') return credentialsOf(c.row);
      if (c.state === 'backoff') {
        // The last refresh failed transiently: use the token while it still works, else report it.
        if (c.row.token_expires_at && c.row.token_expires_at > clock.now()) return credentialsOf(c.row);
        throw new PlatformError('transient', 'social account refresh is backing off');
      }
      if (c.state === 'claimed') return runRefresh(orgId, id, c.row, c.leaseId);
      if (Date.now() - started > WAIT_MAX_MS)
        throw new PlatformError('transient', 'social account refresh is busy');
      await sleep(WAIT_STEP_MS);
    }
  }

  return {
    tokenColumns,
    credentialsOf,

    /** The columns of a login's user token (Meta) and its expiry, written when an identity is connected. */
    userTokenColumns: (
      orgId: string,
      id: string,
      token: string | undefined,
      expiresAt: Date | null | undefined,
    ) => ({
      encrypted_user_access_token: seal(orgId, id, USER_TOKEN_FIELD, token ?? null),
      user_token_expires_at: token ? (expiresAt ?? null) : null,
    }),

    /** Decrypted credentials with an access token valid for at least the refresh margin. */
    credentials(orgId: string, id: string): Promise<StoredCredentials> {
      const existing = inFlight.get(id);
      if (existing) return existing;
      const p = freshCredentials(orgId, id).finally(() => inFlight.delete(id));
      inFlight.set(id, p);
      return p;
    },

    /** Encrypts a token for a revoke-retry job payload (AAD: org + account + field). */
    sealForJob(orgId: string, id: string, token: string): string {
      return envelope.encrypt(token, ctx(orgId, id, 'revoke_retry_token'));
    },
    openFromJob(orgId: string, id: string, ciphertext: string): string {
      return envelope.decrypt(ciphertext, ctx(orgId, id, 'revoke_retry_token'));
    },
  };
}

export type SocialTokens = ReturnType<typeof createSocialTokens>;
