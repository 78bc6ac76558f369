import type { PreparedEvent } from '../ingest/event-preparer.ts';
import type { ValidEvent } from '../ingest/event-validator.ts';
import type { ForwardItem } from '../ingest/ingest-dal.ts';
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
 * `f` with its results kept by arguments, for the life of the returned function (one request). Two
 * arguments at most and a key made without a rest array: this runs several times per event.
 */
function remembered<A extends string, B extends string | null, V>(f: (a: A, b: B) => V): (a: A, b: B) => V {
  const seen = new Map<string, V>();
  return (a, b) => {
    const key = b === null ? `${a}\u0001` : `${a}\u0000${b}`;
    const hit = seen.get(key);
    if (hit !== undefined || seen.has(key)) return hit as V;
    const value = f(a, b);
    seen.set(key, value);
    return value;
  };
}

/**
 * The forwarding-item builder for one request's events. A batch comes from one device and mostly
 * one user, so the identifier work (a phone parse costs more than all the event's hashes together)
 * is done once per distinct value in the request and then reused; nothing outlives the request.
 */
export function forwardItemsBuilder() {
  const ids: Identifiers = {
    e164: remembered(e164),
    phoneHash: remembered(phoneHash),
    externalIdHash: remembered(externalIdHash),
    countryHash: remembered((country: string, _none: null) => countryHash(country)),
    subjectHash: remembered(suppressionHash),
  };
  return (input: ItemInput) => buildForwardItems(input, ids);
}

type Identifiers = {
  e164: typeof e164;
  phoneHash: typeof phoneHash;
  externalIdHash: typeof externalIdHash;
  countryHash: (country: string, none: null) => string;
  subjectHash: typeof suppressionHash;
};

type ItemInput = {
  orgId: string;
  projectId: string;
  valid: ValidEvent;
  prepared: PreparedEvent;
  targets: readonly ForwardTarget[];
};

/**
 * Builds, at ingest and while the raw values are in memory, the forwarding items of one event: one
 * per enabled destination that maps the event's name (the writer seals those of the events its
 * commit stores into the queue). The raw email and phone are read from `valid.traits` and never
 * leave this function except as the destination's hash. `withheld` in the payload marks events whose
 * device ids were not queued (tracking not allowed).
 */
function buildForwardItems(input: ItemInput, ids: Identifiers): ForwardItem[] {
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
  // The payload is only ever serialized: JSON.stringify leaves out the fields that are undefined
  // (cheaper than building each object from conditional spreads, at ingest rate).
  const client = valid.client;
  // Shared by the event's items (one per destination): they are only serialized, never changed.
  const device: ForwardEvent['device'] = {
    idfa: consented && valid.device.idfa ? valid.device.idfa : undefined,
    gaid: consented && valid.device.gaid ? valid.device.gaid : undefined,
    tracking,
    platform: platformOf(valid),
    os_version: client?.os_version ?? undefined,
    model: client?.model ?? undefined,
    locale: client?.locale ?? undefined,
    timezone: client?.timezone ?? undefined,
    app_id: valid.app_id ?? undefined,
    app_version: client?.app_version ?? undefined,
    app_build: client?.app_build ?? undefined,
  };
  const conversion = custom(prepared.properties);
  const time = Math.floor(valid.timestamp.getTime() / 1000);
  const withheld = hasIds && !consented ? true : undefined;
  // Erasure finds a row by SHA-256 of project:user id (or of the anonymous id it was sent under).
  const anonymousId = (prepared as { anonymous_id?: string | null }).anonymous_id ?? null;
  const externalId = userId ? ids.externalIdHash(input.projectId, userId) : undefined;
  // A user's subject hash is SHA-256 of project:user id, which is their external_id too: not made twice.
  const subject = userId
    ? (externalId as string)
    : ids.subjectHash(input.projectId, userId ?? anonymousId ?? valid.event_id);
  return mapped.map((t) => {
    const number = rawPhone ? ids.e164(rawPhone, country ?? t.default_phone_country) : undefined;
    const phone = number ? ids.phoneHash(t.type, number) : undefined;
    const event: ForwardEvent = {
      event_id: valid.event_id,
      time,
      device,
      custom: conversion,
      withheld,
      name: t.event_map[name] as string,
      hashes: {
        email: prepared.email_sha256 ?? undefined,
        phone,
        external_id: externalId,
        country: t.type === 'meta_capi' && country ? ids.countryHash(country, null) : undefined,
      },
    };
    return { project_id: input.projectId, destination_id: t.id, event_id: valid.event_id, subject, event };
  });
}
