import { describe, expect, it } from 'vitest';
import type { PreparedEvent } from '../ingest/event-preparer.ts';
import type { ValidEvent } from '../ingest/event-validator.ts';
import { suppressionHash } from '../subjects/subject-hashes.ts';
import { type ForwardTarget, forwardItemsBuilder } from './forward-builder.ts';
import type { ForwardEvent } from './forward-event.ts';
import { countryHash, externalIdHash, phoneHashFor } from './forward-identifiers.ts';

const ORG = 'org_1';
const PROJECT = 'prj_1';
const targets: ForwardTarget[] = [
  { id: 'dst_meta', type: 'meta_capi', event_map: { purchase: 'Purchase' }, default_phone_country: 'GB' },
  {
    id: 'dst_tiktok',
    type: 'tiktok_events',
    event_map: { purchase: 'CompletePayment' },
    default_phone_country: null,
  },
];

function event(n: number, user: string, phone: string, country: string | null) {
  const valid: ValidEvent = {
    event_id: `e${n}`,
    type: 'track',
    event: 'purchase',
    user_id: user,
    anonymous_id: null,
    timestamp: new Date('2026-12-01T10:00:00Z'),
    app_id: 'com.example.app',
    properties: {},
    traits: { phone },
    ip: undefined,
    device: { idfa: `6d92078a-8246-4ba4-ae5b-00000000000${n}` },
    client: { ad_tracking_enabled: true, os_name: 'iOS' },
  };
  const prepared = {
    ...valid,
    email_sha256: null,
    phone_sha256: null,
    geo_country: country,
    geo_region: null,
  } as PreparedEvent;
  return { orgId: ORG, projectId: PROJECT, valid, prepared, targets };
}

const open = (item: { event: unknown }) => item.event as ForwardEvent;

describe('forwarding items of one request', () => {
  it('reuse work across events only for equal values: each event gets its own user, phone and country hashes', () => {
    const build = forwardItemsBuilder();
    // The same national number read in two regions, an international one, two users.
    const inputs = [
      event(1, 'u_1', '020 7946 0958', 'GB'),
      event(2, 'u_1', '020 7946 0958', 'GB'),
      event(3, 'u_2', '020 7946 0958', null),
      event(4, 'u_3', '(650) 555-1212', 'US'),
      event(5, 'u_2', '+49 30 901820', 'DE'),
    ];
    for (const input of inputs) {
      const items = build(input);
      expect(items.map((r) => r.destination_id)).toEqual(['dst_meta', 'dst_tiktok']);
      const user = input.valid.user_id as string;
      const phone = input.valid.traits.phone as string;
      const country = input.prepared.geo_country;
      for (const row of items) {
        const type = row.destination_id === 'dst_meta' ? 'meta_capi' : 'tiktok_events';
        const region = country ?? (type === 'meta_capi' ? 'GB' : null);
        const payload = open(row);
        expect(row.subject).toBe(suppressionHash(PROJECT, user));
        expect(row.event_id).toBe(input.valid.event_id);
        expect(payload.event_id).toBe(input.valid.event_id);
        expect(payload.device.idfa).toBe(input.valid.device.idfa);
        expect(payload.hashes.external_id).toBe(externalIdHash(PROJECT, user));
        expect(payload.hashes.phone).toBe(phoneHashFor(type, phone, region));
        expect(payload.hashes.country).toBe(
          type === 'meta_capi' && country ? countryHash(country) : undefined,
        );
      }
    }
    // Event 3 has no country: Meta reads the number in the destination's GB, TikTok cannot read it.
    const third = build(event(3, 'u_2', '020 7946 0958', null)).map(open);
    expect(third[0]?.hashes.phone).toMatch(/^[0-9a-f]{64}$/);
    expect(third[1]?.hashes.phone).toBeUndefined();
  });
});
