import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  CreateDpaRequestBody,
  DpaParams,
  DpaRequest,
  ListAllDpaQuery,
  ListDpaQuery,
  UpdateDpaStatusBody,
} from './dpa-schemas.ts';
import type { DpaService } from './dpa-service.ts';

const tags = ['Data protection'];
const tenantParams = { dpaRequestId: 'dpaRequest' };
const ADMIN_ERRORS = [400, 401, 404, 409] as const;

export function registerDpaRoutes(app: AppInstance, deps: { dpa: DpaService; tenant: TenantHandlers }): void {
  const { dpa, tenant } = deps;
  const respond = dpa.toResponse;

  app.post(
    '/v1/dpa-requests',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'Request a countersigned DPA (answers which transfer mechanism applies)',
        body: CreateDpaRequestBody,
        response: { 201: DpaRequest, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 201, async (scope) => respond(await dpa.create(scope, req.body))),
  );

  app.get(
    '/v1/dpa-requests',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'List DPA requests',
        querystring: ListDpaQuery,
        response: { 200: ListOf(DpaRequest), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) => tenant.query(req, async (scope) => toPage(await dpa.list(scope, req.query), respond)),
  );

  app.get(
    '/v1/dpa-requests/:dpaRequestId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Retrieve a DPA request and its status',
        params: DpaParams,
        response: { 200: DpaRequest, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) => tenant.query(req, async (scope) => respond(await dpa.get(scope, req.params.dpaRequestId))),
  );

  app.get(
    '/admin/v1/dpa-requests',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['Operator'],
        summary: 'List every org’s DPA requests',
        querystring: ListAllDpaQuery,
        response: { 200: ListOf(DpaRequest), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const { status, ...page } = req.query;
      return toPage(await dpa.listAll(status, page), respond);
    },
  );

  app.patch(
    '/admin/v1/dpa-requests/:dpaRequestId',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['Operator'],
        summary: 'Move a DPA request along (in_review, sent_for_signature, countersigned, declined)',
        params: DpaParams,
        body: UpdateDpaStatusBody,
        response: { 200: DpaRequest, ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req) => respond(await dpa.setStatus(req.params.dpaRequestId, req.body.status, req.id)),
  );
}
