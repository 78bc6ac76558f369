import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit-chain.ts';

describe('audit chain hashing', () => {
  it('canonical JSON sorts keys at every depth and is stable under key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(canonicalJson(JSON.parse(canonicalJson(obj)))).toBe(canonicalJson(obj));
      }),
    );
  });

  it('changes the hash when any field or the previous hash changes', () => {
    const entry = {
      id: 'aud_1',
      org_id: 'org_1',
      seq: 1,
      action: 'project.created',
      actor_type: 'api_key' as const,
      actor_id: 'key_1',
      resource_type: 'project',
      resource_id: 'proj_1',
      changes: { name: { after: 'x' } },
      request_id: 'req_1',
      created_at: '2026-11-27T10:00:00.000Z',
    };
    const base = chainHash(GENESIS_HASH, entry);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash('f'.repeat(64), entry)).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...entry, changes: { name: { after: 'y' } } })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...entry, seq: 2 })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...entry, actor_id: null })).not.toBe(base);
  });
});
