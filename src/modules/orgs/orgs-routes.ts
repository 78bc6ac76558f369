import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import { errorResponses, ListOf, Name, PageQuery, PathId, Timestamp } from '../../http/schemas.ts';
import { toPage } from '../../lib/pagination.ts';
import { type OrgsService, toOrgResponse } from './orgs-service.ts';

const OrgFields = {
  id: Type.String(),
  object: Type.Literal('org'),
  name: Type.String(),
  tier: Type.Union([Type.Literal('standard'), Type.Literal('partner')]),
  status: Type.Union([Type.Literal('active'), Type.Literal('offboarded')]),
  created_at: Timestamp,
  offboarded_at: Type.Union([Timestamp, Type.Null()]),
};
const Org = Type.Object(OrgFields, { $id: 'Org' });
const DataPurge = Type.Union([
  Type.Object({
    partnership_ended_at: Timestamp,
    complete: Type.Boolean(),
    data_classes: Type.Array(
      Type.Object({
        data_class: Type.String(),
        status: Type.Union([Type.Literal('purged'), Type.Literal('scheduled'), Type.Literal('kept')]),
        purge_at: Type.Union([Timestamp, Type.Null()]),
        purged_at: Type.Union([Timestamp, Type.Null()]),
        rows_purged: Type.Union([Type.Integer(), Type.Null()]),
      }),
    ),
  }),
  Type.Null(),
]);
/** An org with what its partnership end has purged and what is still pending, and when. */
const OrgDetail = Type.Object({ ...OrgFields, data_purge: DataPurge });
const NewSecretKey = Type.Object({ id: Type.String(), secret: Type.String({ description: 'Shown once' }) });
const CreatedOrg = Type.Object({ ...OrgFields, api_key: NewSecretKey });
const OrgParams = Type.Object({ orgId: PathId });
const Tier = Type.Union([Type.Literal('standard'), Type.Literal('partner')]);

const tags = ['Operator'];
const ADMIN_ERRORS = [400, 401, 404] as const;

/** The operator API: only with LAYERS_ADMIN_TOKEN configured (otherwise these routes answer 404). */
export function registerOrgRoutes(app: AppInstance, deps: { orgs: OrgsService }): void {
  const { orgs } = deps;

  app.post(
    '/admin/v1/orgs',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Create an org and its first secret key',
        body: Type.Object({ name: Name, tier: Type.Optional(Tier) }, { additionalProperties: false }),
        response: { 201: CreatedOrg, ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req, reply) => {
      const { org, apiKey } = await orgs.create(
        { name: req.body.name, tier: req.body.tier ?? 'standard' },
        req.id,
      );
      return reply.code(201).send({ ...toOrgResponse(org), api_key: apiKey });
    },
  );

  app.get(
    '/admin/v1/orgs',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'List orgs',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: ListOf(Org), ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req) => toPage(await orgs.list(req.query), toOrgResponse),
  );

  app.get(
    '/admin/v1/orgs/:orgId',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Retrieve an org, its status and its pending data purges',
        params: OrgParams,
        response: { 200: OrgDetail, ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req) => {
      const org = await orgs.get(req.params.orgId);
      return { ...toOrgResponse(org), data_purge: await orgs.purgeStatus(org) };
    },
  );

  app.post(
    '/admin/v1/orgs/:orgId/api-keys',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Issue a new secret key for an org (recovery)',
        params: OrgParams,
        body: Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false }),
        response: { 201: NewSecretKey, ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(
          await orgs.issueSecretKey(req.params.orgId, req.body?.name ?? 'Operator-issued secret key', req.id),
        ),
  );

  app.post(
    '/admin/v1/orgs/:orgId/offboard',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'End the partnership: revoke keys now, the rest per the retention registry',
        params: OrgParams,
        response: { 200: OrgDetail, ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req) => {
      const org = await orgs.offboard(req.params.orgId, req.id);
      return { ...toOrgResponse(org), data_purge: await orgs.purgeStatus(org) };
    },
  );
}
