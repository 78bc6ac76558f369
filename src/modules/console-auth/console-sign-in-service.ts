import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { AppError } from '../../lib/errors.ts';
import { sha256Hex } from '../../lib/hashing.ts';
import { newId } from '../../lib/ids.ts';
import type { TenantScope } from '../../lib/scope.ts';
import { normalizeEmail } from '../../privacy/identifier-normalizers.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { AccountRow, ConsoleAuthDal } from './console-auth-dal.ts';
import type { ConsoleRole } from './console-roles.ts';
import { looksLikeRecoveryCode, newSecretToken, recoveryCodeHash, tokenHash } from './console-tokens.ts';
import { checkTotp } from './console-totp.ts';
import { burnVerification, hashPassword, verifyPassword } from './password-hasher.ts';
import { assertPasswordAllowed } from './password-policy.ts';

/**
 * Sign-up (accepting an invitation), sign-in, sessions and the second factor check.
 *
 * Sessions (ASVS V7): a 256-bit random token in an HttpOnly cookie, stored as SHA-256; 30 minutes
 * idle (the last use is written at most once a minute, so the idle clock is exact to a minute) and 12
 * hours absolute (NIST SP 800-63B AAL2 asks ≤ 1 h idle and ≤ 24 h overall; we keep the older
 * AAL2 figures). A new token on every sign-in; sign-out, revocation and expiry delete the row, so the
 * next request anywhere is refused. Any number of sessions per account, each listed and revocable.
 *
 * Throttling (ASVS 6.3.1), in PostgreSQL so every process counts the same failures: per account
 * (by the email's hash, so unknown emails are throttled alike) 5 failures in 15 minutes lock
 * sign-in for 15 minutes; per address 50. Unknown email and wrong password get the same answer,
 * after the same scrypt work.
 */
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_ABSOLUTE_MS = 12 * 3_600_000;
const TOUCH_EVERY_MS = 60_000;

export type ThrottleLimits = { windowMs: number; lockMs: number; perAccount: number; perAddress: number };
export const DEFAULT_THROTTLE: ThrottleLimits = {
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
  perAccount: 5,
  perAddress: 50,
};

export type SessionAuth = {
  sessionId: string;
  accountId: string;
  orgId: string;
  role: ConsoleRole;
  /** The org requires MFA and this account has not enrolled yet: only enrolment is open. */
  mfaPending: boolean;
  expiresAt: Date;
};

export type ClientMeta = { address: string; userAgent: string | undefined };

export type SignInInput = { email: string; password: string; code?: string | undefined };

export type SignInResult = { token: string; session: SessionAuth };

export const emailHashOf = (email: string) => sha256Hex(normalizeEmail(email));

const invalidCredentials = () =>
  new AppError('invalid_credentials', 'The email or password is not right. Check both and try again.');

export function createConsoleSignInService(deps: {
  dal: ConsoleAuthDal;
  appDb: Kysely<Database>;
  systemDb: Kysely<Database>;
  envelope: Envelope;
  auditLog: AuditLogService;
  clock: Clock;
  throttle?: ThrottleLimits;
}) {
  const { dal, appDb, systemDb, envelope, auditLog, clock } = deps;
  const limits = deps.throttle ?? DEFAULT_THROTTLE;

  const userScope = (
    tx: TenantScope['tx'],
    orgId: string,
    accountId: string,
    requestId: string | null,
  ): TenantScope => ({
    tx,
    orgId,
    actor: { type: 'user', id: accountId },
    requestId,
    now: clock.now(),
  });

  async function createSession(
    scope: TenantScope,
    account: { id: string; role: ConsoleRole; totp: boolean },
    meta: ClientMeta,
  ): Promise<SignInResult> {
    const token = newSecretToken();
    const id = newId('consoleSession', scope.now.getTime());
    const expiresAt = new Date(scope.now.getTime() + SESSION_ABSOLUTE_MS);
    await dal.insertSession(scope.tx, {
      id,
      org_id: scope.orgId,
      account_id: account.id,
      token_sha256: tokenHash(token),
      user_agent: meta.userAgent ? meta.userAgent.slice(0, 200) : null,
      now: scope.now,
      expires_at: expiresAt,
    });
    await auditLog.record(scope, {
      action: 'console_session.created',
      resource: { type: 'console_session', id },
      changes: {},
    });
    const mfaRequired = await dal.mfaRequired(scope.tx);
    return {
      token,
      session: {
        sessionId: id,
        accountId: account.id,
        orgId: scope.orgId,
        role: account.role,
        mfaPending: mfaRequired && !account.totp,
        expiresAt,
      },
    };
  }

  /** TOTP or a recovery code, each usable once (claimed by a conditional write). */
  async function checkSecondFactor(
    db: Kysely<Database>,
    account: AccountRow,
    code: string,
  ): Promise<boolean> {
    const trimmed = code.trim();
    if (/^\d{6}$/.test(trimmed)) {
      if (!account.encrypted_totp_secret) return false;
      const secret = envelope.decrypt(account.encrypted_totp_secret, {
        orgId: account.org_id,
        recordId: account.id,
        field: 'totp_secret',
      });
      const last = account.totp_last_step === null ? null : Number(account.totp_last_step);
      const step = await checkTotp(secret, trimmed, clock.now(), last);
      return step !== undefined && (await dal.claimTotpStep(db, account.id, step));
    }
    if (looksLikeRecoveryCode(trimmed))
      return dal.consumeRecoveryCode(db, account.id, recoveryCodeHash(trimmed));
    return false;
  }

  const buckets = (emailHash: string, address: string) => ({
    account: `account:${sha256Hex(`console-account:${emailHash}`)}`,
    address: `address:${sha256Hex(`console-address:${address}`)}`,
  });

  async function refuseIfLocked(b: { account: string; address: string }, now: Date): Promise<void> {
    const rows = await dal.throttleRead(systemDb, [b.account, b.address]);
    const until = Math.max(0, ...rows.map((r) => r.locked_until?.getTime() ?? 0));
    if (until > now.getTime()) {
      const seconds = Math.ceil((until - now.getTime()) / 1000);
      throw new AppError(
        'rate_limited',
        `Too many failed sign-ins. Wait ${Math.ceil(seconds / 60)} minute(s), then try again.`,
        { headers: { 'Retry-After': String(seconds) } },
      );
    }
  }

  async function recordFailure(b: { account: string; address: string }, orgId: string | null, now: Date) {
    await dal.throttleFail(systemDb, {
      bucket: b.account,
      orgId,
      now,
      windowMs: limits.windowMs,
      limit: limits.perAccount,
      lockMs: limits.lockMs,
    });
    await dal.throttleFail(systemDb, {
      bucket: b.address,
      orgId: null,
      now,
      windowMs: limits.windowMs,
      limit: limits.perAddress,
      lockMs: limits.lockMs,
    });
  }

  return {
    createSession,
    checkSecondFactor,

    async signIn(input: SignInInput, meta: ClientMeta, requestId: string | null): Promise<SignInResult> {
      const now = clock.now();
      const emailHash = emailHashOf(input.email);
      const b = buckets(emailHash, meta.address);
      await refuseIfLocked(b, now);
      const account = await dal.findAccountByEmail(systemDb, emailHash);
      let passwordOk = false;
      if (account) passwordOk = await verifyPassword(input.password, account.password_hash);
      else await burnVerification(input.password);
      if (!account || !passwordOk) {
        await recordFailure(b, account?.org_id ?? null, now);
        throw invalidCredentials();
      }
      if (account.totp_enabled_at) {
        if (!input.code)
          throw new AppError(
            'mfa_code_required',
            'Enter the 6-digit code from your authenticator app, or one of your recovery codes.',
            { param: 'code' },
          );
        if (!(await checkSecondFactor(systemDb, account, input.code))) {
          await recordFailure(b, account.org_id, now);
          throw new AppError(
            'invalid_credentials',
            'That code is not right, or it was used already. Wait for the next code and try again.',
            { param: 'code' },
          );
        }
      }
      await dal.throttleClear(systemDb, b.account);
      return withTenant(appDb, account.org_id, (tx) =>
        createSession(
          userScope(tx, account.org_id, account.id, requestId),
          { id: account.id, role: account.role, totp: account.totp_enabled_at !== null },
          meta,
        ),
      );
    },

    /** What an invitation link shows before sign-up: the email invited, the org, the role. */
    async describeInvitation(token: string) {
      const inv = await dal.findInvitation(systemDb, tokenHash(token));
      if (!inv || inv.expires_at.getTime() <= clock.now().getTime())
        throw new AppError(
          'resource_missing',
          'This invitation link is not valid any more (it was used, revoked or is older than 24 hours). Ask for a new one.',
          { param: 'token' },
        );
      return {
        email: envelope.decrypt(inv.encrypted_email, { orgId: inv.org_id, recordId: inv.id, field: 'email' }),
        role: inv.role,
        org_name: inv.org_name ?? '',
        expires_at: inv.expires_at.toISOString(),
        invitation: inv,
      };
    },

    /** Sign-up: the invitation's email, a password the policy allows; the invitation is used up. */
    async acceptInvitation(
      input: { token: string; password: string },
      meta: ClientMeta,
      requestId: string | null,
    ): Promise<SignInResult> {
      const { email, invitation } = await this.describeInvitation(input.token);
      assertPasswordAllowed(input.password, { email });
      const passwordHash = await hashPassword(input.password);
      const accountId = newId('consoleAccount', clock.now().getTime());
      try {
        return await withTenant(appDb, invitation.org_id, async (tx) => {
          const scope = userScope(tx, invitation.org_id, accountId, requestId);
          // Used up in the same transaction that creates the account: one account per link.
          if (!(await dal.deleteInvitation(tx, invitation.id)))
            throw new AppError('resource_missing', 'This invitation was used already.', { param: 'token' });
          await dal.insertAccount(tx, {
            id: accountId,
            org_id: invitation.org_id,
            email_sha256: invitation.email_sha256,
            encrypted_email: envelope.encrypt(email, {
              orgId: invitation.org_id,
              recordId: accountId,
              field: 'email',
            }),
            role: invitation.role,
            password_hash: passwordHash,
            created_at: scope.now,
          });
          await auditLog.record(scope, {
            action: 'console_account.created',
            resource: { type: 'console_account', id: accountId },
            changes: { role: { after: invitation.role }, invitation_id: { after: invitation.id } },
          });
          return createSession(scope, { id: accountId, role: invitation.role, totp: false }, meta);
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505')
          throw new AppError(
            'conflict',
            'This email address already has a Layers console account. Sign in with it, or ask to be invited with another address.',
          );
        throw error;
      }
    },

    /** The session of a cookie's token, or undefined when unknown, expired (idle or absolute) or its org ended. */
    async authenticate(token: string): Promise<SessionAuth | undefined> {
      if (token.length < 20 || token.length > 100) return undefined;
      const hash = tokenHash(token);
      const row = await dal.findSession(systemDb, hash);
      if (!row) return undefined;
      const now = clock.now().getTime();
      const idleEnd = row.last_seen_at.getTime() + SESSION_IDLE_MS;
      if (!row.org_active || now >= row.expires_at.getTime() || now >= idleEnd) {
        await dal.deleteSessionByToken(systemDb, hash);
        return undefined;
      }
      if (now - row.last_seen_at.getTime() >= TOUCH_EVERY_MS)
        await dal.touchSession(systemDb, row.id, new Date(now));
      return {
        sessionId: row.id,
        accountId: row.account_id,
        orgId: row.org_id,
        role: row.role,
        mfaPending: row.mfa_required && !row.totp_enabled,
        expiresAt: row.expires_at,
      };
    },

    async signOut(token: string): Promise<void> {
      await dal.deleteSessionByToken(systemDb, tokenHash(token));
    },
  };
}

export type ConsoleSignInService = ReturnType<typeof createConsoleSignInService>;
