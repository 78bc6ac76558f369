import type { ConsoleRole } from './console-roles.ts';

/**
 * Which partner-API routes a console session may call, and with which least role. The console calls
 * these very routes (`/v1/…`, same handlers, services, tenant transaction and RLS as an API key), with
 * its session cookie and CSRF token instead of a key; the audit log names the account
 * (`actor: {type: "user", id: "usr_…"}`). A route not listed here refuses sessions (default deny), so
 * a route added later is key-only until someone decides who in the console may use it. A test checks
 * that every entry names a route that exists.
 *
 * Viewers read configuration (never a secret: secrets are only in the answers of the POSTs that
 * create or rotate them). End-customer data (profiles, exports, lookups, erasure, suppressions) and
 * DPA requests are for admins and owners, the people who answer data-subject and legal requests.
 */
export const PARTNER_ROUTE_ROLES: Readonly<Record<string, ConsoleRole>> = {
  'GET /v1/projects': 'viewer',
  'GET /v1/projects/:projectId': 'viewer',
  'POST /v1/projects': 'developer',
  'PATCH /v1/projects/:projectId': 'developer',
  'DELETE /v1/projects/:projectId': 'developer',

  'GET /v1/api-keys': 'viewer',
  'GET /v1/api-keys/:keyId': 'viewer',
  'POST /v1/api-keys': 'developer',
  'DELETE /v1/api-keys/:keyId': 'developer',

  'GET /v1/webhooks': 'viewer',
  'GET /v1/webhooks/:webhookId': 'viewer',
  'GET /v1/webhooks/:webhookId/deliveries': 'viewer',
  'GET /v1/webhooks/:webhookId/deliveries/:deliveryId': 'viewer',
  'POST /v1/webhooks': 'developer',
  'PATCH /v1/webhooks/:webhookId': 'developer',
  'DELETE /v1/webhooks/:webhookId': 'developer',
  'POST /v1/webhooks/:webhookId/test': 'developer',
  'POST /v1/webhooks/:webhookId/rotate-secret': 'developer',
  'POST /v1/webhooks/:webhookId/deliveries/:deliveryId/retry': 'developer',

  'GET /v1/audit-log': 'viewer',
  'GET /v1/data-protection/retention': 'viewer',
  'GET /v1/subprocessors': 'viewer',
  'GET /v1/data-protection/egress': 'viewer',

  'GET /v1/data-subject-requests/:requestId': 'viewer',
  'POST /v1/projects/:projectId/users/lookup': 'admin',
  'GET /v1/projects/:projectId/users/:userId': 'admin',
  'GET /v1/projects/:projectId/events/users/:userId': 'admin',
  'DELETE /v1/projects/:projectId/events/users/:userId': 'admin',
  'GET /v1/projects/:projectId/suppressions': 'admin',
  'DELETE /v1/projects/:projectId/suppressions/:userId': 'admin',

  'GET /v1/dpa-requests': 'viewer',
  'GET /v1/dpa-requests/:dpaRequestId': 'viewer',
  'POST /v1/dpa-requests': 'admin',
};
