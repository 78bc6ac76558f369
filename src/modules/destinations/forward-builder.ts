import { ledgerRowId } from '../../egress/egress-gateway.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import type { PreparedEvent } from '../ingest/event-preparer.ts';
import type { ValidEvent } from '../ingest/event-validator.ts';
import type { ForwardQueueRow } from '../ingest/ingest-dal.ts';
import { suppressionHash } from '../subjects/subject-hashes.ts';
import type { DestinationType, ForwardEvent } from './forward-event.ts';
import { countryHash, e164, externalIdHash, phoneHash } from './forward-identifiers.ts';

/** An enabled destination as ingest sees it (cached per project with the project's policy). */
export type ForwardTarget = {
  id: string;
  type: DestinationType;
  event_map: Readonly<Record<string, string>>;
  default_phone_country: string | null;
};

/** The envelope field of a queue row's payload (AAD: org + queue row id + this). */
export const PAYLOAD_FIELD = 'capi_payload';

const CURRENCY = /^[A-Za-z]{3}$/;

function custom(properties: Record<string, unknown>): ForwardEvent['custom'] {
  const out: ForwardEvent['custom'] = {};
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 100 ? v : undefined);
  const value = num(properties.value) ?? num(properties.revenue) ?? num(properties.price);
  if (value !== undefined) out.value = value;
  const currency = str(properties.currency);
  if (currency && CURRENCY.test(currency)) out.currency = currency.toUpperCase();
  const ids = properties.content_ids;
  if (Array.isArray(ids)) {
    const list = ids
      .map(str)
      .filter((s): s is string => s !== undefined)
      .slice(0, 50);
    if (list.length > 0) out.content_ids = list;
  } else {
    const single = str(properties.product_id) ?? str(properties.content_id);
    if (single) out.content_ids = [single];
  }
  const contentType = str(properties.content_type);
  if (contentType) out.content_type = contentType;
  const items = num(properties.num_items) ?? num(properties.quantity);
  if (items !== undefined && Number.isInteger(items) && items >= 0) out.num_items = items;
  const order = str(properties.order_id);
  if (order) out.order_id = order;
  return out;
}

function platformOf(valid: ValidEvent): 'ios' | 'android' | undefined {
  const os = valid.client?.os_name?.toLowerCase();
  if (os === 'ios' || os === 'ipados' || os === 'iphone os') return 'ios';
  if (os === 'android') return 'android';
  if (valid.device.idfa) return 'ios';
  if (valid.device.gaid) return 'android';
  return undefined;
}

/**
 * Builds, at ingest and while the raw values are in memory, the encrypted forward-queue rows of one
 * stored event: one per enabled destination that maps the event's name. The raw email and phone are
 * read from `valid.traits` and never leave this function except as the destination's hash.
 * `withheld` in the payload marks events whose device ids were not queued (tracking not allowed).
 */
export function buildForwardRows(
  envelope: Envelope,
  input: {
    orgId: string;
    projectId: string;
    valid: ValidEvent;
    prepared: PreparedEvent;
    targets: readonly ForwardTarget[];
  },
): ForwardQueueRow[] {
  const { valid, prepared, targets } = input;
  if (valid.type !== 'track' || !valid.event) return [];
  const name = valid.event;
  const mapped = targets.filter((t) => Object.hasOwn(t.event_map, name));
  if (mapped.length === 0) return [];
  const userId = (prepared as { user_id: string | null }).user_id;
  const hasIds = Boolean(valid.device.idfa || valid.device.gaid);
  const tracking = valid.client?.ad_tracking_enabled;
  const consented = tracking === true;
  // Without a user id the only strong identifier can be a device id: only then, with consent.
  if (!userId && !(hasIds && consented)) return [];
  const rawPhone = typeof valid.traits.phone === 'string' ? valid.traits.phone : undefined;
  const country = prepared.geo_country;
  const base: Omit<ForwardEvent, 'name' | 'hashes'> = {
    event_id: valid.event_id,
    time: Math.floor(valid.timestamp.getTime() / 1000),
    device: {
      ...(consented && valid.device.idfa ? { idfa: valid.device.idfa } : {}),
      ...(consented && valid.device.gaid ? { gaid: valid.device.gaid } : {}),
      ...(tracking === undefined ? {} : { tracking }),
      ...optional('platform', platformOf(valid)),
      ...optional('os_version', valid.client?.os_version),
      ...optional('model', valid.client?.model),
      ...optional('locale', valid.client?.locale),
      ...optional('timezone', valid.client?.timezone),
      ...optional('app_id', valid.app_id ?? undefined),
      ...optional('app_version', valid.client?.app_version),
      ...optional('app_build', valid.client?.app_build),
    },
    custom: custom(prepared.properties),
  };
  // Erasure finds a row by SHA-256 of project:user id (or of the anonymous id it was sent under).
  const anonymousId = (prepared as { anonymous_id?: string | null }).anonymous_id ?? null;
  const subject = suppressionHash(input.projectId, userId ?? anonymousId ?? valid.event_id);
  // One parse per region (most events: one), whatever the number of destinations.
  const numbers = new Map<string | null, string | undefined>();
  const numberIn = (region: string | null) => {
    if (!rawPhone) return undefined;
    if (!numbers.has(region)) numbers.set(region, e164(rawPhone, region));
    return numbers.get(region);
  };
  return mapped.map((t) => {
    const number = numberIn(country ?? t.default_phone_country);
    const phone = number ? phoneHash(t.type, number) : undefined;
    const event: ForwardEvent = {
      ...base,
      ...(hasIds && !consented ? { withheld: true as const } : {}),
      name: t.event_map[name] as string,
      hashes: {
        ...optional('email', prepared.email_sha256 ?? undefined),
        ...optional('phone', phone),
        ...optional('external_id', userId ? externalIdHash(input.projectId, userId) : undefined),
        ...(t.type === 'meta_capi' && country ? { country: countryHash(country) } : {}),
      },
    };
    // Time-ordered (UUID v7 layout): the queue's key grows at its right edge, claimed roughly in order.
    const id = ledgerRowId(Date.now());
    return {
      id,
      project_id: input.projectId,
      destination_id: t.id,
      event_id: valid.event_id,
      subject_hash: subject,
      event_time: valid.timestamp,
      encrypted_payload: envelope.encrypt(JSON.stringify(event), {
        orgId: input.orgId,
        recordId: id,
        field: PAYLOAD_FIELD,
      }),
    };
  });
}

function optional<K extends string, V>(key: K, value: V | undefined | null): { [P in K]?: V } {
  return value === undefined || value === null ? {} : ({ [key]: value } as { [P in K]?: V });
}
