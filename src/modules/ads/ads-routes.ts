import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  AdDeployment,
  AdDeploymentParams,
  CreateAdDeploymentBody,
  ListQuery,
  ProjectParams,
  TokenRenewalBody,
} from './ads-schemas.ts';
import { type AdsService, toAdDeploymentResponse } from './ads-service.ts';

const tags = ['Publishing and ads'];
const one = { 200: AdDeployment, ...errorResponses(...AUTHENTICATED_ERRORS) };
const accepted = { 202: AdDeployment, ...errorResponses(...MUTATION_ERRORS) };

export function registerAdRoutes(app: AppInstance, deps: { ads: AdsService; tenant: TenantHandlers }): void {
  const { ads, tenant } = deps;

  app.post(
    '/v1/projects/:projectId/ad-deployments',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary: 'Deploy a generated video as a paused ad (campaign, ad set/group, creative, ad)',
        params: ProjectParams,
        body: CreateAdDeploymentBody,
        response: accepted,
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 202, async (scope) =>
        toAdDeploymentResponse(await ads.create(scope, req.params.projectId, req.body)),
      ),
  );

  app.get(
    '/v1/projects/:projectId/ad-deployments',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary: "List a project's ad deployments",
        params: ProjectParams,
        querystring: ListQuery,
        response: { 200: ListOf(AdDeployment), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toPage(await ads.list(scope, req.params.projectId, req.query), toAdDeploymentResponse),
      ),
  );

  app.get(
    '/v1/ad-deployments/:adDeploymentId',
    {
      config: { auth: 'secret', tenantParams: { adDeploymentId: 'adDeployment' } },
      schema: { tags, summary: 'Retrieve an ad deployment', params: AdDeploymentParams, response: one },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toAdDeploymentResponse(await ads.get(scope, req.params.adDeploymentId)),
      ),
  );

  for (const [action, summary] of [
    ['retry', 'Resume a failed ad deployment from what exists at the platform'],
    ['cancel', 'Delete at the platform what the deployment created, then mark it cancelled'],
  ] as const) {
    app.post(
      `/v1/ad-deployments/:adDeploymentId/${action}`,
      {
        config: { auth: 'secret', tenantParams: { adDeploymentId: 'adDeployment' } },
        schema: { tags, summary, params: AdDeploymentParams, body: TokenRenewalBody, response: accepted },
      },
      (req, reply) =>
        tenant.mutate(req, reply, 202, async (scope) =>
          toAdDeploymentResponse(
            await ads[action](scope, req.params.adDeploymentId, req.body?.advertiser_access_token),
          ),
        ),
    );
  }
}
