import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { Clock } from '../../lib/clock.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { ConsoleAccountService } from './console-account-service.ts';
import * as S from './console-auth-schemas.ts';
import type { ConsoleMembersService } from './console-members-service.ts';
import type { ConsoleSessionAuth } from './console-session-auth.ts';
import type { ConsoleSignInService, SessionAuth, SignInResult } from './console-sign-in-service.ts';
import { csrfTokenFor } from './console-tokens.ts';

/**
 * The console's own routes under /console/api: sign-in, sign-up from an invitation, the session, my
 * account, members, invitations and settings. Everything else the console shows comes from the
 * partner routes themselves (console-permissions.ts). Responses are `Cache-Control: no-store`.
 */
const tags = ['Console'];
const PUBLIC_ERRORS = [400, 401, 403, 404, 409, 429];

type Deps = {
  signIn: ConsoleSignInService;
  accounts: ConsoleAccountService;
  members: ConsoleMembersService;
  sessions: ConsoleSessionAuth;
  auditChain: (
    orgId: string,
  ) => Promise<{ ok: boolean; entries: number; broken?: { id: string; seq: number; reason: string } }>;
  appDb: Kysely<Database>;
  clock: Clock;
};

function sessionOf(request: FastifyRequest): { session: SessionAuth; token: string } {
  if (request.auth?.kind !== 'session') throw new Error('route is not session-authenticated');
  return { session: request.auth.session, token: request.auth.token };
}

export function registerConsoleAuthRoutes(app: AppInstance, deps: Deps): void {
  const { signIn, accounts, members, sessions, appDb, clock, auditChain } = deps;

  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/console/api/')) reply.header('Cache-Control', 'no-store');
  });

  /** One tenant transaction for the session's org; the actor is the account. */
  function inTenant<T>(request: FastifyRequest, fn: (scope: TenantScope, s: SessionAuth) => Promise<T>) {
    const { session } = sessionOf(request);
    return withTenant(appDb, session.orgId, (tx) =>
      fn(
        {
          tx,
          orgId: session.orgId,
          actor: { type: 'user', id: session.accountId },
          requestId: request.id,
          now: clock.now(),
        },
        session,
      ),
    );
  }

  const meta = (request: FastifyRequest) => ({
    address: request.ip,
    userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : undefined,
  });

  async function signedIn(
    request: FastifyRequest,
    reply: FastifyReply,
    result: SignInResult,
    status: number,
  ) {
    sessions.setCookie(request, reply, result.token);
    const account = await withTenant(appDb, result.session.orgId, (tx) =>
      accounts.me(
        {
          tx,
          orgId: result.session.orgId,
          actor: { type: 'user', id: result.session.accountId },
          requestId: request.id,
          now: clock.now(),
        },
        result.session,
      ),
    );
    return reply.code(status).send({ csrf_token: csrfTokenFor(result.token), account });
  }

  const open = { auth: 'none' as const };
  const session = (
    consoleRole: 'viewer' | 'developer' | 'admin' | 'owner' = 'viewer',
    pendingOk = false,
  ) => ({
    auth: 'session' as const,
    consoleRole,
    ...(pendingOk ? { consoleMfaPendingOk: true } : {}),
  });
  const mutationErrors = errorResponses(...MUTATION_ERRORS, 401, 403);
  const readErrors = errorResponses(...AUTHENTICATED_ERRORS);

  app.post(
    '/console/api/sign-in',
    {
      config: open,
      schema: {
        tags,
        summary: 'Sign in to the console',
        body: S.SignInBody,
        response: { 200: S.SessionResponse, ...errorResponses(...PUBLIC_ERRORS) },
      },
    },
    async (req, reply) => {
      sessions.assertSameOrigin(req);
      // Every sign-in is logged (ASVS 16.3.1) by outcome and factor, never with the email or address.
      let result: SignInResult;
      try {
        result = await signIn.signIn(req.body, meta(req), req.id);
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'error';
        req.log.info({
          event: 'console.sign_in',
          outcome: code,
          factor: req.body.code ? 'second' : 'password',
        });
        throw error;
      }
      req.log.info({ event: 'console.sign_in', outcome: 'ok', account_id: result.session.accountId });
      return signedIn(req, reply, result, 200);
    },
  );

  app.post(
    '/console/api/invitation-lookup',
    {
      config: open,
      schema: {
        tags,
        summary: 'Describe an invitation link',
        body: S.InvitationLookupBody,
        response: { 200: S.InvitationDescription, ...errorResponses(...PUBLIC_ERRORS) },
      },
    },
    async (req) => {
      const d = await signIn.describeInvitation(req.body.token);
      return { email: d.email, role: d.role, org_name: d.org_name, expires_at: d.expires_at };
    },
  );

  app.post(
    '/console/api/sign-up',
    {
      config: open,
      schema: {
        tags,
        summary: 'Create an account from an invitation',
        body: S.SignUpBody,
        response: { 201: S.SessionResponse, ...errorResponses(...PUBLIC_ERRORS) },
      },
    },
    async (req, reply) => {
      sessions.assertSameOrigin(req);
      return signedIn(req, reply, await signIn.acceptInvitation(req.body, meta(req), req.id), 201);
    },
  );

  app.get(
    '/console/api/session',
    {
      config: session('viewer', true),
      schema: {
        tags,
        summary: 'The signed-in account and its CSRF token',
        response: { 200: S.SessionResponse, ...readErrors },
      },
    },
    async (req) => {
      const { token } = sessionOf(req);
      return {
        csrf_token: csrfTokenFor(token),
        account: await inTenant(req, (scope, s) => accounts.me(scope, s)),
      };
    },
  );

  // No session needed: signing out twice, or with an expired cookie, is still signed out.
  app.post(
    '/console/api/sign-out',
    {
      config: open,
      schema: {
        tags,
        summary: 'Sign out (ends this session)',
        response: { 200: S.Ack, ...errorResponses(...PUBLIC_ERRORS) },
      },
    },
    async (req, reply) => {
      sessions.assertSameOrigin(req);
      const token = sessions.tokenOf(req);
      if (token) await signIn.signOut(token);
      sessions.clearCookie(req, reply);
      return { signed_out: true };
    },
  );

  // Sessions first: a new password ends the other sessions (the route fuzz runs routes in this order).
  app.get(
    '/console/api/me/sessions',
    {
      config: session('viewer', true),
      schema: { tags, summary: 'My sessions', response: { 200: ListOf(S.SessionEntry), ...readErrors } },
    },
    async (req) => ({
      object: 'list' as const,
      data: await inTenant(req, (scope, s) => accounts.listSessions(scope, s.sessionId)),
      has_more: false,
    }),
  );
  app.delete(
    '/console/api/me/sessions/:sessionId',
    {
      config: session('viewer', true),
      schema: {
        tags,
        summary: 'End one of my sessions',
        params: S.SessionParams,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope, s) => accounts.revokeSession(scope, s.sessionId, req.params.sessionId)),
  );
  app.post(
    '/console/api/me/sessions/revoke-others',
    {
      config: session('viewer', true),
      schema: { tags, summary: 'End all my other sessions', response: { 200: S.Ack, ...mutationErrors } },
    },
    (req) => inTenant(req, (scope, s) => accounts.revokeOtherSessions(scope, s.sessionId)),
  );
  // ---- my account --------------------------------------------------------------------------------
  app.post(
    '/console/api/me/mfa/setup',
    {
      config: session('viewer', true),
      schema: {
        tags,
        summary: 'Start TOTP enrolment (needs the password)',
        body: S.ReauthBody,
        response: { 200: S.MfaSetup, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope) => accounts.startTotp(scope, req.body)),
  );
  app.post(
    '/console/api/me/mfa/confirm',
    {
      config: session('viewer', true),
      schema: {
        tags,
        summary: 'Confirm TOTP with a code; returns recovery codes once',
        body: S.ConfirmMfaBody,
        response: { 200: S.RecoveryCodes, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope) => accounts.confirmTotp(scope, req.body.code)),
  );
  app.post(
    '/console/api/me/mfa/disable',
    {
      config: session('viewer'),
      schema: {
        tags,
        summary: 'Turn TOTP off (password and code)',
        body: S.ReauthBody,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope) => accounts.disableTotp(scope, req.body)),
  );
  app.post(
    '/console/api/me/recovery-codes',
    {
      config: session('viewer'),
      schema: {
        tags,
        summary: 'Replace the recovery codes',
        body: S.ReauthBody,
        response: { 200: S.RecoveryCodes, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope) => accounts.regenerateRecoveryCodes(scope, req.body)),
  );
  app.post(
    '/console/api/me/password',
    {
      config: session('viewer', true),
      schema: {
        tags,
        summary: 'Change the password (ends other sessions)',
        body: S.ChangePasswordBody,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope, s) => accounts.changePassword(scope, s.sessionId, req.body)),
  );
  app.post(
    '/console/api/me/email',
    {
      config: session('viewer'),
      schema: {
        tags,
        summary: 'Change the email address',
        body: S.ChangeEmailBody,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope) => accounts.changeEmail(scope, req.body)),
  );
  app.get(
    '/console/api/me/export',
    {
      config: session('viewer', true),
      schema: {
        tags,
        summary: 'Download my data (everything held about my account)',
        response: { 200: S.Ack, ...readErrors },
      },
    },
    async (req, reply) => {
      const data = await inTenant(req, (scope) => accounts.exportMyData(scope));
      reply.header('Content-Disposition', 'attachment; filename="layers-account.json"');
      return data;
    },
  );
  app.post(
    '/console/api/me/delete',
    {
      config: session('viewer', true),
      schema: {
        tags,
        summary: 'Delete my account',
        body: S.ReauthBody,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    async (req, reply) => {
      const result = await inTenant(req, (scope) => accounts.deleteMyAccount(scope, req.body));
      sessions.clearCookie(req, reply);
      return result;
    },
  );

  // ---- members, invitations, settings ------------------------------------------------------------
  app.get(
    '/console/api/members',
    {
      config: session('viewer'),
      schema: { tags, summary: 'Members of the org', response: { 200: ListOf(S.Member), ...readErrors } },
    },
    async (req) => ({
      object: 'list' as const,
      data: await inTenant(req, (scope) => members.listMembers(scope)),
      has_more: false,
    }),
  );
  app.post(
    '/console/api/members/:memberId/end-sessions',
    {
      config: session('admin'),
      schema: {
        tags,
        summary: "End all of a member's sessions",
        params: S.MemberParams,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope, s) => members.endSessions(scope, s, req.params.memberId)),
  );
  app.patch(
    '/console/api/members/:memberId',
    {
      config: session('admin'),
      schema: {
        tags,
        summary: "Change a member's role",
        params: S.MemberParams,
        body: S.RoleBody,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope, s) => members.changeRole(scope, s, req.params.memberId, req.body.role)),
  );
  app.delete(
    '/console/api/members/:memberId',
    {
      config: session('admin'),
      schema: {
        tags,
        summary: 'Remove a member (ends their sessions)',
        params: S.MemberParams,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope, s) => members.removeMember(scope, s, req.params.memberId)),
  );
  app.get(
    '/console/api/invitations',
    {
      config: session('admin'),
      schema: { tags, summary: 'Open invitations', response: { 200: ListOf(S.Invitation), ...readErrors } },
    },
    async (req) => ({
      object: 'list' as const,
      data: await inTenant(req, (scope) => members.listInvitations(scope)),
      has_more: false,
    }),
  );
  app.post(
    '/console/api/invitations',
    {
      config: session('admin'),
      schema: {
        tags,
        summary: 'Invite someone (a one-time link, 24 h)',
        body: S.InviteBody,
        response: { 201: S.Invitation, ...mutationErrors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await inTenant(req, (scope, s) => members.invite(scope, s, req.body))),
  );
  app.delete(
    '/console/api/invitations/:invitationId',
    {
      config: session('admin'),
      schema: {
        tags,
        summary: 'Revoke an invitation',
        params: S.InvitationParams,
        response: { 200: S.Ack, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope, s) => members.revokeInvitation(scope, s, req.params.invitationId)),
  );
  app.get(
    '/console/api/settings',
    {
      config: session('viewer'),
      schema: { tags, summary: 'Console settings of the org', response: { 200: S.Settings, ...readErrors } },
    },
    (req) => inTenant(req, (scope) => members.settings(scope)),
  );
  app.get(
    '/console/api/audit-chain',
    {
      config: session('viewer'),
      schema: {
        tags,
        summary: "Recompute the org's audit hash chain",
        response: { 200: S.ChainStatus, ...readErrors },
      },
    },
    async (req) => {
      const result = await auditChain(sessionOf(req).session.orgId);
      return result.ok
        ? { ok: true, entries: result.entries }
        : { ok: false, entries: result.entries, broken: result.broken };
    },
  );
  app.patch(
    '/console/api/settings',
    {
      config: session('owner'),
      schema: {
        tags,
        summary: 'Require MFA for every member (owners)',
        body: S.SettingsBody,
        response: { 200: S.Settings, ...mutationErrors },
      },
    },
    (req) => inTenant(req, (scope, s) => members.setMfaRequired(scope, s, req.body.mfa_required)),
  );
}
