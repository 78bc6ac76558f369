import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import { systemScope, type TenantScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ConsoleAuthDal, InvitationRow } from './console-auth-dal.ts';
import { type ConsoleRole, roleAtLeast, roleRefusal } from './console-roles.ts';
import { emailHashOf } from './console-sign-in-service.ts';
import { newSecretToken, tokenHash } from './console-tokens.ts';

/**
 * Members and invitations of an org, and its console settings. Invitations are one-time links valid
 * for 24 h (the token is in the link's fragment, so it reaches no server log); an admin may invite
 * and manage everyone but owners; only an owner makes, changes or removes an owner, and the last
 * owner cannot be demoted or removed. Removing a member ends their sessions at once (the rows go).
 */
export const INVITATION_TTL_MS = 24 * 3_600_000;

export type ActorRole = { role: ConsoleRole };

export function createConsoleMembersService(deps: {
  dal: ConsoleAuthDal;
  appDb: Kysely<Database>;
  envelope: Envelope;
  auditLog: AuditLogService;
  clock: Clock;
  /** The console's base URL for invitation links (LAYERS_PUBLIC_URL or the local server). */
  baseUrl: () => string;
}) {
  const { dal, appDb, envelope, auditLog, clock } = deps;

  const emailOf = (r: { org_id: string; id: string; encrypted_email: string }) =>
    envelope.decrypt(r.encrypted_email, { orgId: r.org_id, recordId: r.id, field: 'email' });

  const invitationView = (r: InvitationRow) => ({
    id: r.id,
    email: emailOf(r),
    role: r.role,
    invited_by: r.invited_by,
    created_at: r.created_at.toISOString(),
    expires_at: r.expires_at.toISOString(),
  });

  function assertMayGrant(actor: ActorRole, role: ConsoleRole) {
    if (role === 'owner' && actor.role !== 'owner')
      throw new AppError('role_not_allowed', roleRefusal(actor.role, 'owner'));
    if (!roleAtLeast(actor.role, 'admin'))
      throw new AppError('role_not_allowed', roleRefusal(actor.role, 'admin'));
  }

  async function invite(scope: TenantScope, input: { email: string; role: ConsoleRole }) {
    const email = input.email.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) || email.length > 254)
      throw new AppError('parameter_invalid', 'Enter an email address like name@example.com.', {
        param: 'email',
      });
    const emailHash = emailHashOf(email);
    if (await dal.emailTaken(scope.tx, emailHash))
      throw new AppError('conflict', 'This person is a member already.', { param: 'email' });
    const id = newId('consoleInvitation', scope.now.getTime());
    const token = newSecretToken();
    const row = {
      id,
      org_id: scope.orgId,
      email_sha256: emailHash,
      encrypted_email: envelope.encrypt(email, { orgId: scope.orgId, recordId: id, field: 'email' }),
      role: input.role,
      token_sha256: tokenHash(token),
      invited_by: scope.actor.id,
      created_at: scope.now,
      expires_at: new Date(scope.now.getTime() + INVITATION_TTL_MS),
    };
    await dal.insertInvitation(scope.tx, row);
    await auditLog.record(scope, {
      action: 'console_invitation.created',
      resource: { type: 'console_invitation', id },
      changes: { role: { after: input.role } },
    });
    return { ...invitationView(row), url: `${deps.baseUrl()}/console/#/invitation/${token}` };
  }

  async function member(scope: TenantScope, id: string) {
    const row = isId('consoleAccount', id) ? await dal.getAccount(scope.tx, id) : undefined;
    if (!row) throw notFound('member', 'memberId');
    return row;
  }

  return {
    /** `layers user invite`: the operator invites (usually an org's first owner); audited as system. */
    inviteAsOperator(orgId: string, input: { email: string; role: ConsoleRole }) {
      return withTenant(appDb, orgId, async (tx) => {
        const [org] = (await tx
          .selectFrom('orgs')
          .select(['id', 'status'])
          .where('id', '=', orgId)
          .execute()) as {
          id: string;
          status: string;
        }[];
        if (!org) throw notFound('org');
        if (org.status !== 'active') throw new AppError('invalid_request', 'This org has been offboarded.');
        return invite(systemScope(tx, orgId, clock.now()), input);
      });
    },

    invite(scope: TenantScope, actor: ActorRole, input: { email: string; role: ConsoleRole }) {
      assertMayGrant(actor, input.role);
      return invite(scope, input);
    },

    async listInvitations(scope: TenantScope) {
      return (await dal.listInvitations(scope.tx, scope.now)).map(invitationView);
    },

    async revokeInvitation(scope: TenantScope, actor: ActorRole, id: string) {
      const row = isId('consoleInvitation', id) ? await dal.getInvitation(scope.tx, id) : undefined;
      if (!row) throw notFound('invitation', 'invitationId');
      assertMayGrant(actor, row.role);
      await dal.deleteInvitation(scope.tx, id);
      await auditLog.record(scope, {
        action: 'console_invitation.revoked',
        resource: { type: 'console_invitation', id },
        changes: {},
      });
      return { id, revoked: true };
    },

    async listMembers(scope: TenantScope) {
      return (await dal.listAccounts(scope.tx)).map((a) => ({
        id: a.id,
        email: emailOf(a),
        role: a.role,
        mfa_enabled: a.totp_enabled_at !== null,
        created_at: a.created_at.toISOString(),
      }));
    },

    async changeRole(scope: TenantScope, actor: ActorRole, id: string, role: ConsoleRole) {
      const row = await member(scope, id);
      assertMayGrant(actor, row.role);
      assertMayGrant(actor, role);
      if (row.role === 'owner' && role !== 'owner' && (await dal.countOwners(scope.tx)) <= 1)
        throw new AppError('invalid_request', 'This is the only owner. Make someone else an owner first.');
      await dal.setRole(scope.tx, id, role, scope.now);
      await auditLog.record(scope, {
        action: 'console_account.role_changed',
        resource: { type: 'console_account', id },
        changes: { role: { before: row.role, after: role } },
      });
      return { id, role };
    },

    async removeMember(scope: TenantScope, actor: ActorRole, id: string) {
      const row = await member(scope, id);
      assertMayGrant(actor, row.role);
      if (row.role === 'owner' && (await dal.countOwners(scope.tx)) <= 1)
        throw new AppError('invalid_request', 'This is the only owner and cannot be removed.');
      await dal.deleteAccount(scope.tx, id);
      await auditLog.record(scope, {
        action: 'console_account.removed',
        resource: { type: 'console_account', id },
        changes: {},
      });
      return { id, removed: true };
    },

    /** Ends every session of a member at once (ASVS 7.4.5), e.g. a lost laptop. */
    async endSessions(scope: TenantScope, actor: ActorRole, id: string) {
      if (id === scope.actor.id)
        throw new AppError('invalid_request', 'To end your own sessions, use My account (or sign out).');
      const row = await member(scope, id);
      assertMayGrant(actor, row.role);
      const ended = await dal.deleteSessionsOf(scope.tx, id, null);
      await auditLog.record(scope, {
        action: 'console_account.sessions_ended',
        resource: { type: 'console_account', id },
        changes: { sessions: { before: ended, after: 0 } },
      });
      return { id, ended };
    },

    async settings(scope: TenantScope) {
      return { mfa_required: await dal.mfaRequired(scope.tx) };
    },

    async setMfaRequired(scope: TenantScope, actor: ActorRole, required: boolean) {
      if (actor.role !== 'owner') throw new AppError('role_not_allowed', roleRefusal(actor.role, 'owner'));
      const self = scope.actor.id ? await dal.getAccount(scope.tx, scope.actor.id) : undefined;
      if (required && !self?.totp_enabled_at)
        throw new AppError(
          'invalid_request',
          'Turn on two-factor authentication for your own account first (My account), then require it for everyone.',
        );
      const before = await dal.mfaRequired(scope.tx);
      await dal.setMfaRequired(scope.tx, scope.orgId, required, scope.now);
      await auditLog.record(scope, {
        action: 'console_settings.updated',
        resource: { type: 'org', id: scope.orgId },
        changes: { mfa_required: { before, after: required } },
      });
      return { mfa_required: required };
    },
  };
}

export type ConsoleMembersService = ReturnType<typeof createConsoleMembersService>;
