import { describe, expect, it } from 'vitest';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../lib/envelope-crypto.ts';
import type { ForwardItem } from '../ingest/ingest-dal.ts';
import { forwardBatchSealer, MAX_EVENTS_PER_ROW, openEvents, PAYLOAD_FIELD } from './forward-batch.ts';
import type { ForwardEvent } from './forward-event.ts';

const envelope = createEnvelope(parseKeyEncryptionKeys(generateKeyEncryptionKey()));
const ORG = 'org_1';

const forwardEvent = (n: number): ForwardEvent => ({
  name: 'Purchase',
  event_id: `e${n}`,
  time: 1_764_000_000 + n,
  hashes: { email: 'a'.repeat(64) },
  device: { idfa: `6d92078a-8246-4ba4-ae5b-${String(n).padStart(12, '0')}`, tracking: true },
  custom: {},
});
const item = (n: number, destination: string, subject: string): ForwardItem => ({
  project_id: 'prj_1',
  destination_id: destination,
  event_id: `e${n}`,
  subject,
  event: forwardEvent(n),
});

describe('forward-queue batches', () => {
  it('seal one row per destination and chunk, each opening to its events and their subjects', () => {
    const items = [
      ...Array.from({ length: MAX_EVENTS_PER_ROW + 3 }, (_, i) => item(i, 'dst_meta', `s${i % 2}`)),
      item(9_999, 'dst_tiktok', 's9'),
    ];
    const rows = forwardBatchSealer(envelope)(ORG, items);
    expect(rows.map((r) => [r.destination_id, r.event_count])).toEqual([
      ['dst_meta', MAX_EVENTS_PER_ROW],
      ['dst_meta', 3],
      ['dst_tiktok', 1],
    ]);
    expect(rows[0]?.subject_hashes.sort()).toEqual(['s0', 's1']);
    expect(rows[0]?.oldest_event_time).toEqual(new Date(1_764_000_000 * 1000));
    expect(new Set(rows.map((r) => r.id)).size).toBe(3);
    const opened = rows.flatMap((r) =>
      openEvents(envelope, { ...r, org_id: ORG, first_subject: r.subject_hashes[0] as string }),
    );
    expect(opened.map((o) => o.event.event_id)).toEqual(items.map((i) => i.event_id));
    expect(opened.map((o) => o.subject)).toEqual(items.map((i) => i.subject));
    for (const r of rows) expect(r.encrypted_payload).not.toContain('6d92078a');
    // Compressed before it is sealed: well under the JSON of its events (base64 included).
    const json = JSON.stringify(items.slice(0, MAX_EVENTS_PER_ROW).map((i) => i.event));
    expect(rows[0]?.encrypted_payload.length).toBeLessThan(json.length / 2);
  });

  it('a ciphertext opens only in its own row (the AAD binds org and row id)', () => {
    const [a, b] = forwardBatchSealer(envelope)(ORG, [item(1, 'dst_1', 's1'), item(2, 'dst_2', 's2')]);
    if (!a || !b) throw new Error('two rows expected');
    expect(() => openEvents(envelope, { ...a, id: b.id, org_id: ORG, first_subject: 's1' })).toThrow();
    expect(() => openEvents(envelope, { ...a, org_id: 'org_2', first_subject: 's1' })).toThrow();
  });

  it('a row queued before batches (one event object) opens as a batch of one with its subject', () => {
    const id = '0193a000-0000-7000-8000-000000000001';
    const encrypted_payload = envelope.encrypt(JSON.stringify(forwardEvent(7)), {
      orgId: ORG,
      recordId: id,
      field: PAYLOAD_FIELD,
    });
    const opened = openEvents(envelope, { id, org_id: ORG, first_subject: 's7', encrypted_payload });
    expect(opened).toEqual([{ event: forwardEvent(7), subject: 's7' }]);
  });
});
