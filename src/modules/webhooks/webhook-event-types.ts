/**
 * The catalog of webhook event types: what a partner's endpoint may subscribe to and what each
 * event's `data` holds. Payloads carry ids, statuses, enums and timestamps only — never names,
 * descriptions, URLs, user ids or any other value a person typed, so an event can never carry
 * personal data (or a secret pasted into a name) to a third-party endpoint. A receiver that needs
 * more fetches the object by its id with its API key.
 *
 * Every delivery's body is `{"id": "whevt_…", "type": "<type>", "timestamp": "<ISO 8601>", "data": {…}}`,
 * signed per the Standard Webhooks specification (headers `webhook-id` = the event id, stable across
 * retries; `webhook-timestamp`; `webhook-signature`).
 *
 * | type                             | emitted when                                              | data |
 * |----------------------------------|-----------------------------------------------------------|------|
 * | `project.created`                | a project is created                                      | `id`, `object`, `status` |
 * | `project.updated`                | a project's fields change                                 | `id`, `object`, `status`, `changed` (field names) |
 * | `project.deleted`                | a project's deletion grace period starts                  | `id`, `object`, `status`, `purge_after` |
 * | `api_key.created`                | an API key is created (partner API or operator)           | `id`, `object`, `type`, `project_id` |
 * | `api_key.revoked`                | an API key is revoked                                     | `id`, `object`, `revoked_at` |
 * | `webhook_endpoint.created`       | an endpoint is created (it receives this event itself)    | `id`, `object`, `status`, `events` |
 * | `webhook_endpoint.updated`       | an endpoint's url, events, description, status or secret change | `id`, `object`, `status`, `events`, `changed` |
 * | `webhook_endpoint.deleted`       | an endpoint is deleted (sent to the org's other endpoints) | `id`, `object` |
 * | `webhook_endpoint.disabled`      | Layers disabled an endpoint: it answered 410 Gone, or failed continuously for 5 days (sent to the org's other endpoints) | `id`, `object`, `reason` (`gone` \| `failing`), `failing_since` |
 * | `data_subject_request.completed` | an erasure request finished (same transaction)            | `id`, `object`, `type`, `project_id`, `status`, `completed_at` |
 * | `dpa_request.updated`            | the operator moves a DPA request to another status        | `id`, `object`, `status` |
 * | `destination.paused`             | a Conversions API platform refused a destination's access token: forwarding stops until a PATCH sets a new one | `id`, `object`, `project_id`, `type`, `status`, `reason`, `paused_at` |
 * | `social_account.connected`       | a connect flow created or reconnected a social account    | `id`, `object`, `project_id`, `platform`, `status`, `reconnected` |
 * | `social_account.needs_reconnect` | the platform refused the account's tokens (invalid_grant, Meta 190): only a reconnect fixes it | `id`, `object`, `project_id`, `platform`, `status` |
 * | `social_account.revoked`         | the account was revoked (API, its project's deletion, offboarding, or the platform's deauthorize callback) | `id`, `object`, `project_id`, `platform`, `status`, `reason` |
 * | `generation.succeeded`           | a generation's copy and media are stored                  | `id`, `object`, `project_id`, `status`, `provider`, `media_ids` |
 * | `generation.failed`              | a generation failed for good (its retries spent)          | `id`, `object`, `project_id`, `status`, `provider`, `error_code` |
 * | `publication.published`          | a publication is live at the platform (its post joins the account's posts) | `id`, `object`, `project_id`, `social_account_id`, `platform`, `status`, `platform_post_id`, `permalink` |
 * | `publication.failed`             | a publication failed for good                             | `id`, `object`, `project_id`, `social_account_id`, `platform`, `status`, `error_code` |
 * | `ad_deployment.created`          | every object of an ad deployment exists at the platform, paused | `id`, `object`, `project_id`, `platform`, `status` |
 * | `ad_deployment.failed`           | an ad deployment (or its cancel) failed; what exists is in its platform ids | `id`, `object`, `project_id`, `platform`, `status`, `error_code` |
 *
 * `*` subscribes an endpoint to every type, present and future. `webhook_endpoint.test` is sent only
 * by `POST /v1/webhooks/:webhookId/test`, to that endpoint, whatever it subscribes to.
 */
export const WEBHOOK_EVENT_TYPES = [
  'project.created',
  'project.updated',
  'project.deleted',
  'api_key.created',
  'api_key.revoked',
  'webhook_endpoint.created',
  'webhook_endpoint.updated',
  'webhook_endpoint.deleted',
  'webhook_endpoint.disabled',
  'data_subject_request.completed',
  'dpa_request.updated',
  'destination.paused',
  'social_account.connected',
  'social_account.needs_reconnect',
  'social_account.revoked',
  'generation.succeeded',
  'generation.failed',
  'ad_deployment.created',
  'ad_deployment.failed',
  'publication.published',
  'publication.failed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const ALL_EVENTS = '*';

/** Sent by the test-send route only; not subscribable. */
export const TEST_EVENT_TYPE = 'webhook_endpoint.test';

type Ts = string;

type SocialAccountEvent = {
  id: string;
  object: 'social_account';
  project_id: string;
  platform: 'tiktok' | 'instagram' | 'facebook' | 'youtube';
};

type PublicationEvent = {
  id: string;
  object: 'publication';
  project_id: string;
  social_account_id: string;
  platform: 'tiktok' | 'instagram' | 'facebook' | 'youtube';
};

type AdDeploymentEvent = {
  id: string;
  object: 'ad_deployment';
  project_id: string;
  platform: 'meta' | 'tiktok';
};

/** The `data` of each event type. Adding a field here is adding it to a public contract. */
export type WebhookEventPayloads = {
  'destination.paused': {
    id: string;
    object: 'destination';
    project_id: string;
    type: 'meta_capi' | 'tiktok_events';
    status: 'paused';
    reason: 'invalid_token';
    paused_at: Ts;
  };
  'social_account.connected': SocialAccountEvent & { status: 'active'; reconnected: boolean };
  'social_account.needs_reconnect': SocialAccountEvent & { status: 'needs_reconnect' };
  'social_account.revoked': SocialAccountEvent & {
    status: 'revoked';
    reason: 'api' | 'offboarding' | 'platform' | 'project_deleted';
  };
  'generation.succeeded': {
    id: string;
    object: 'generation';
    project_id: string;
    status: 'succeeded';
    provider: string;
    media_ids: string[];
  };
  'generation.failed': {
    id: string;
    object: 'generation';
    project_id: string;
    status: 'failed';
    provider: string;
    error_code: string;
  };
  'publication.published': PublicationEvent & {
    status: 'published';
    platform_post_id: string;
    permalink: string | null;
  };
  'publication.failed': PublicationEvent & { status: 'failed'; error_code: string };
  'ad_deployment.created': AdDeploymentEvent & { status: 'created' };
  'ad_deployment.failed': AdDeploymentEvent & { status: 'failed'; error_code: string };
  'project.created': { id: string; object: 'project'; status: 'active' | 'pending_deletion' };
  'project.updated': {
    id: string;
    object: 'project';
    status: 'active' | 'pending_deletion';
    changed: string[];
  };
  'project.deleted': { id: string; object: 'project'; status: 'pending_deletion'; purge_after: Ts | null };
  'api_key.created': {
    id: string;
    object: 'api_key';
    type: 'secret' | 'publishable';
    project_id: string | null;
  };
  'api_key.revoked': { id: string; object: 'api_key'; revoked_at: Ts };
  'webhook_endpoint.created': {
    id: string;
    object: 'webhook_endpoint';
    status: 'enabled' | 'disabled';
    events: string[];
  };
  'webhook_endpoint.updated': {
    id: string;
    object: 'webhook_endpoint';
    status: 'enabled' | 'disabled';
    events: string[];
    changed: string[];
  };
  'webhook_endpoint.deleted': { id: string; object: 'webhook_endpoint' };
  'webhook_endpoint.disabled': {
    id: string;
    object: 'webhook_endpoint';
    reason: 'gone' | 'failing';
    failing_since: Ts | null;
  };
  'data_subject_request.completed': {
    id: string;
    object: 'data_subject_request';
    type: 'erasure';
    project_id: string;
    status: 'completed';
    completed_at: Ts;
  };
  'dpa_request.updated': {
    id: string;
    object: 'dpa_request';
    status: 'received' | 'in_review' | 'sent_for_signature' | 'countersigned' | 'declined';
  };
};

/** The test event's data. */
export type TestEventPayload = { id: string; object: 'webhook_endpoint'; test: true };

// Compile-time check: the payload map covers exactly the catalog.
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const catalogCovered: Exactly<keyof WebhookEventPayloads, WebhookEventType> = true;
void catalogCovered;
