import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import { requirePrincipal } from '../../http/auth.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import {
  AccountParams,
  CallbackParams,
  CallbackQuery,
  ConnectBody,
  ConnectResponse,
  ListAccountsQuery,
  Post,
  PostsQuery,
  ProjectParams,
  SocialAccount,
  SocialPlatformInfo,
} from './social-accounts-schemas.ts';
import { type SocialAccountsService, toSocialAccountResponse } from './social-accounts-service.ts';
import type { SocialRevocation } from './social-revocation.ts';

const tags = ['Social accounts'];

export function registerSocialAccountRoutes(
  app: AppInstance,
  deps: {
    socialAccounts: SocialAccountsService;
    revocation: SocialRevocation;
    projects: ProjectsService;
    tenant: TenantHandlers;
  },
): void {
  const { socialAccounts, revocation, projects, tenant } = deps;

  app.get(
    '/v1/social-platforms',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'The social platforms this deployment can connect, and the scopes it asks for',
        response: { 200: Type.Array(SocialPlatformInfo), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    async () => socialAccounts.platformsInfo(),
  );

  app.post(
    '/v1/projects/:projectId/social-accounts/connect',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary:
          'Start connecting a social account: an authorization URL (PKCE S256, one-time state, 10 minutes)',
        params: ProjectParams,
        body: ConnectBody,
        response: { 201: ConnectResponse, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 201, async (scope) => {
        await projects.requireActive(scope, req.params.projectId, 'projectId');
        return socialAccounts.startConnect(scope, req.params.projectId, req.body);
      }),
  );

  app.get(
    '/v1/oauth/callback/:platform',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary:
          'The platform sends the browser here (no key: the one-time state is the credential); 303 to the return URL',
        params: CallbackParams,
        querystring: CallbackQuery,
        response: {
          303: Type.Null({
            description:
              'To the return URL with `social_account_ids=sa_…,…`, or with `error=` (state_expired, access_denied, authorization_failed, invalid_grant, platform_error, no_accounts)',
          }),
          ...errorResponses(400, 429),
        },
      },
    },
    async (req, reply) => {
      const location = await socialAccounts.completeCallback(req.params.platform, req.query, req.id);
      return reply.header('cache-control', 'no-store').redirect(location, 303);
    },
  );

  app.get(
    '/v1/projects/:projectId/social-accounts',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary: "List a project's social accounts (never a token)",
        params: ProjectParams,
        querystring: ListAccountsQuery,
        response: { 200: ListOf(SocialAccount), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => {
        await projects.get(scope, req.params.projectId);
        return toPage(
          await socialAccounts.list(scope, req.params.projectId, req.query),
          toSocialAccountResponse,
        );
      }),
  );

  app.get(
    '/v1/social-accounts/:socialAccountId',
    {
      config: { auth: 'secret', tenantParams: { socialAccountId: 'socialAccount' } },
      schema: {
        tags,
        summary: 'Retrieve a social account (never a token)',
        params: AccountParams,
        response: { 200: SocialAccount, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toSocialAccountResponse(await socialAccounts.get(scope, req.params.socialAccountId)),
      ),
  );

  app.delete(
    '/v1/social-accounts/:socialAccountId',
    {
      config: { auth: 'secret', tenantParams: { socialAccountId: 'socialAccount' } },
      schema: {
        tags,
        summary:
          'Revoke a social account at the platform and delete its tokens at once (its metadata is kept per retention)',
        params: AccountParams,
        response: { 200: SocialAccount, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    async (req, reply) => {
      // The platform call happens before the transaction opens (no network call inside one).
      const { orgId } = requirePrincipal(req);
      const step1 = await revocation.callPlatform(orgId, req.params.socialAccountId, req.log);
      return tenant.mutate(req, reply, 200, async (scope) =>
        toSocialAccountResponse(await revocation.finishRevoke(scope, req.params.socialAccountId, step1)),
      );
    },
  );

  app.get(
    '/v1/social-accounts/:socialAccountId/posts',
    {
      config: { auth: 'secret', tenantParams: { socialAccountId: 'socialAccount' } },
      schema: {
        tags,
        summary: "The account's recent public posts and their metrics, as last synced (newest first)",
        params: AccountParams,
        querystring: PostsQuery,
        response: { 200: ListOf(Post), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, (scope) =>
        socialAccounts.posts(scope, req.params.socialAccountId, req.query.limit ?? 10),
      ),
  );
}
