import type { Envelope } from '../../lib/envelope-crypto.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId } from '../../lib/ids.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { AccountRow, ConsoleAuthDal } from './console-auth-dal.ts';
import { type ConsoleSignInService, emailHashOf } from './console-sign-in-service.ts';
import { newRecoveryCode, recoveryCodeHash } from './console-tokens.ts';
import { newTotpSecret, totpUri } from './console-totp.ts';
import { hashPassword, verifyPassword } from './password-hasher.ts';
import { assertPasswordAllowed } from './password-policy.ts';

/**
 * "My account": the representative's own data, of which Layers is the controller. Changing the
 * password, the email or the second factor needs the password again, and the current TOTP or a
 * recovery code when MFA is on (ASVS 7.5.1); a new password ends every other session (7.4.3).
 * "Download my data" gives everything held about the account; "delete my account" erases it (its
 * sessions and recovery codes go with it) — except for an org's last owner, who must hand over first.
 * Audit entries keep naming the account id, never the email.
 */
export type Reauth = { password: string; code?: string | undefined };

const RECOVERY_CODES = 10;

export function createConsoleAccountService(deps: {
  dal: ConsoleAuthDal;
  envelope: Envelope;
  auditLog: AuditLogService;
  signIn: ConsoleSignInService;
}) {
  const { dal, envelope, auditLog, signIn } = deps;

  const emailOf = (a: { org_id: string; id: string; encrypted_email: string }) =>
    envelope.decrypt(a.encrypted_email, { orgId: a.org_id, recordId: a.id, field: 'email' });

  async function self(scope: TenantScope): Promise<AccountRow> {
    const id = scope.actor.id;
    const row = id ? await dal.getAccount(scope.tx, id) : undefined;
    if (!row) throw new AppError('not_signed_in', 'Your session has ended. Sign in again.');
    return row;
  }

  async function reauthenticate(scope: TenantScope, account: AccountRow, reauth: Reauth): Promise<void> {
    if (!(await verifyPassword(reauth.password, account.password_hash)))
      throw new AppError('invalid_credentials', 'Your current password is not right.', { param: 'password' });
    if (account.totp_enabled_at) {
      if (!reauth.code)
        throw new AppError('mfa_code_required', 'Enter a code from your authenticator app to confirm.', {
          param: 'code',
        });
      if (!(await signIn.checkSecondFactor(scope.tx, account, reauth.code)))
        throw new AppError('invalid_credentials', 'That code is not right, or it was used already.', {
          param: 'code',
        });
    }
  }

  const audit = (
    scope: TenantScope,
    action: string,
    changes: Record<string, { before?: unknown; after?: unknown }> = {},
  ) =>
    auditLog.record(scope, {
      action,
      resource: { type: 'console_account', id: scope.actor.id as string },
      changes,
    });

  async function newRecoveryCodes(scope: TenantScope, account: AccountRow): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    await dal.replaceRecoveryCodes(scope.tx, scope.orgId, account.id, codes.map(recoveryCodeHash), scope.now);
    return codes;
  }

  return {
    async me(scope: TenantScope, session: { sessionId: string; mfaPending: boolean; expiresAt: Date }) {
      const a = await self(scope);
      return {
        id: a.id,
        email: emailOf(a),
        role: a.role,
        org_id: a.org_id,
        mfa_enabled: a.totp_enabled_at !== null,
        mfa_required: await dal.mfaRequired(scope.tx),
        mfa_pending: session.mfaPending,
        recovery_codes_left: await dal.countRecoveryCodes(scope.tx, a.id),
        session_id: session.sessionId,
        session_expires_at: session.expiresAt.toISOString(),
        created_at: a.created_at.toISOString(),
      };
    },

    /** Step 1 of TOTP enrolment: a fresh secret, kept encrypted and pending until a code confirms it. */
    async startTotp(scope: TenantScope, reauth: Reauth) {
      const a = await self(scope);
      if (a.totp_enabled_at)
        throw new AppError(
          'conflict',
          'Two-factor authentication is on already. Turn it off first to change the app.',
        );
      await reauthenticate(scope, a, reauth);
      const secret = newTotpSecret();
      const encrypted = envelope.encrypt(secret, { orgId: a.org_id, recordId: a.id, field: 'totp_secret' });
      await dal.setTotp(scope.tx, a.id, encrypted, null, scope.now);
      return { secret, otpauth_uri: totpUri(secret, `Layers:${a.id}`) };
    },

    /** Step 2: a code from the app turns MFA on and gives the recovery codes, once. */
    async confirmTotp(scope: TenantScope, code: string) {
      const a = await self(scope);
      if (a.totp_enabled_at) throw new AppError('conflict', 'Two-factor authentication is on already.');
      if (!a.encrypted_totp_secret)
        throw new AppError(
          'invalid_request',
          'Start the set-up first: it gives you the secret for your app.',
        );
      if (!(await signIn.checkSecondFactor(scope.tx, a, code)))
        throw new AppError(
          'parameter_invalid',
          'That code is not right. Check the time on your phone and try the next code.',
          {
            param: 'code',
          },
        );
      await dal.setTotp(scope.tx, a.id, a.encrypted_totp_secret, scope.now, scope.now);
      const codes = await newRecoveryCodes(scope, a);
      await audit(scope, 'console_account.mfa_enabled', { mfa: { before: false, after: true } });
      return { mfa_enabled: true, recovery_codes: codes };
    },

    async disableTotp(scope: TenantScope, reauth: Reauth) {
      const a = await self(scope);
      if (!a.totp_enabled_at) throw new AppError('conflict', 'Two-factor authentication is off already.');
      if (await dal.mfaRequired(scope.tx))
        throw new AppError(
          'invalid_request',
          'Your organisation requires two-factor authentication, so it cannot be turned off.',
        );
      await reauthenticate(scope, a, reauth);
      await dal.setTotp(scope.tx, a.id, null, null, scope.now);
      await dal.replaceRecoveryCodes(scope.tx, scope.orgId, a.id, [], scope.now);
      await audit(scope, 'console_account.mfa_disabled', { mfa: { before: true, after: false } });
      return { mfa_enabled: false };
    },

    async regenerateRecoveryCodes(scope: TenantScope, reauth: Reauth) {
      const a = await self(scope);
      if (!a.totp_enabled_at)
        throw new AppError('invalid_request', 'Turn on two-factor authentication first.');
      await reauthenticate(scope, a, reauth);
      const codes = await newRecoveryCodes(scope, a);
      await audit(scope, 'console_account.recovery_codes_replaced');
      return { recovery_codes: codes };
    },

    async changePassword(scope: TenantScope, sessionId: string, input: Reauth & { new_password: string }) {
      const a = await self(scope);
      await reauthenticate(scope, a, input);
      assertPasswordAllowed(input.new_password, { email: emailOf(a) });
      await dal.setPassword(scope.tx, a.id, await hashPassword(input.new_password), scope.now);
      const ended = await dal.deleteSessionsOf(scope.tx, a.id, sessionId);
      await audit(scope, 'console_account.password_changed', { password: {} });
      return { other_sessions_ended: ended };
    },

    async changeEmail(scope: TenantScope, input: Reauth & { new_email: string }) {
      const a = await self(scope);
      await reauthenticate(scope, a, input);
      const email = input.new_email.trim();
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) || email.length > 254)
        throw new AppError('parameter_invalid', 'Enter an email address like name@example.com.', {
          param: 'new_email',
        });
      try {
        await dal.setEmail(
          scope.tx,
          a.id,
          emailHashOf(email),
          envelope.encrypt(email, { orgId: a.org_id, recordId: a.id, field: 'email' }),
          scope.now,
        );
      } catch (error) {
        if ((error as { code?: string }).code === '23505')
          throw new AppError('conflict', 'That email address belongs to another console account.', {
            param: 'new_email',
          });
        throw error;
      }
      await audit(scope, 'console_account.email_changed', { email: {} });
      return { email };
    },

    async listSessions(scope: TenantScope, currentId: string) {
      const a = await self(scope);
      return (await dal.listSessions(scope.tx, a.id)).map((s) => ({
        id: s.id,
        current: s.id === currentId,
        user_agent: s.user_agent,
        created_at: s.created_at.toISOString(),
        last_seen_at: s.last_seen_at.toISOString(),
        expires_at: s.expires_at.toISOString(),
      }));
    },

    async revokeSession(scope: TenantScope, currentId: string, id: string) {
      const a = await self(scope);
      if (id === currentId)
        throw new AppError('invalid_request', 'This is the session you are using: sign out instead.', {
          param: 'sessionId',
        });
      if (!isId('consoleSession', id) || !(await dal.deleteSession(scope.tx, a.id, id)))
        throw notFound('session', 'sessionId');
      await auditLog.record(scope, {
        action: 'console_session.revoked',
        resource: { type: 'console_session', id },
        changes: {},
      });
      return { id, revoked: true };
    },

    async revokeOtherSessions(scope: TenantScope, currentId: string) {
      const a = await self(scope);
      return { ended: await dal.deleteSessionsOf(scope.tx, a.id, currentId) };
    },

    /** Everything held about the representative (ASVS/GDPR access): account, sessions, their audit trail. */
    async exportMyData(scope: TenantScope) {
      const a = await self(scope);
      const actions = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const list = await auditLog.list(
          scope,
          { actor_id: a.id },
          { limit: 100, ...(cursor ? { starting_after: cursor } : {}) },
        );
        for (const r of list.rows)
          actions.push({
            id: r.id,
            action: r.action,
            resource: { type: r.resource_type, id: r.resource_id },
            created_at: new Date(r.created_at).toISOString(),
          });
        if (!list.has_more) break;
        cursor = list.rows.at(-1)?.id;
      }
      return {
        account: {
          id: a.id,
          email: emailOf(a),
          role: a.role,
          org_id: a.org_id,
          mfa_enabled: a.totp_enabled_at !== null,
          created_at: a.created_at.toISOString(),
          updated_at: a.updated_at.toISOString(),
        },
        sessions: (await dal.listSessions(scope.tx, a.id)).map((s) => ({
          id: s.id,
          user_agent: s.user_agent,
          created_at: s.created_at.toISOString(),
          last_seen_at: s.last_seen_at.toISOString(),
        })),
        recovery_codes_left: await dal.countRecoveryCodes(scope.tx, a.id),
        audit_entries: actions,
        not_held:
          'Your password and second-factor secret are held only as a scrypt hash and as ciphertext; they are not exported. Sign-in attempts are counted for 15 minutes under a hash, never with your email or address.',
        exported_at: scope.now.toISOString(),
      };
    },

    async deleteMyAccount(scope: TenantScope, reauth: Reauth) {
      const a = await self(scope);
      await reauthenticate(scope, a, reauth);
      if (a.role === 'owner' && (await dal.countOwners(scope.tx)) <= 1)
        throw new AppError(
          'invalid_request',
          'You are the only owner of this organisation. Make another member an owner first, then delete your account.',
        );
      await dal.deleteAccount(scope.tx, a.id);
      await audit(scope, 'console_account.deleted');
      return { id: a.id, deleted: true };
    },
  };
}

export type ConsoleAccountService = ReturnType<typeof createConsoleAccountService>;
