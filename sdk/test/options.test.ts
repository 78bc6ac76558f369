import { describe, expect, it } from 'vitest';
import { createClient } from '../src/index.js';
import { resolveOptions } from '../src/options.js';

const base = {
  key: 'lyr_pk_TestKey0123456789abcdefghijk',
  endpoint: 'https://api.layers.example',
  appId: 'a',
};

describe('options', () => {
  it('refuses a secret key: it must never ship inside an app', () => {
    expect(() => createClient({ ...base, key: 'lyr_sk_abc' })).toThrow(/secret key/);
  });

  it('requires a publishable key, an app id and an absolute http(s) endpoint', () => {
    expect(() => createClient({ ...base, key: 'abc' })).toThrow(/publishable key/);
    expect(() => createClient({ ...base, appId: ' ' })).toThrow(/appId/);
    expect(() => createClient({ ...base, endpoint: '/relative' })).toThrow(/endpoint/);
    expect(() => createClient({ ...base, endpoint: 'ftp://x' })).toThrow(/endpoint/);
    expect(() => createClient({ ...base, flushAt: 0 })).toThrow(/flushAt/);
    expect(() => createClient({ ...base, flushAt: 1_001 })).toThrow(/at most 1000/);
    expect(() => createClient({ ...base, appId: 'a'.repeat(201) })).toThrow(/appId/);
  });

  it('builds the ingest URL from the endpoint, with or without a trailing slash or base path', () => {
    expect(resolveOptions(base).url).toBe('https://api.layers.example/v1/sdk/events');
    expect(resolveOptions({ ...base, endpoint: 'https://x.example/layers/' }).url).toBe(
      'https://x.example/layers/v1/sdk/events',
    );
  });

  it('defaults: device ids off, not opted out, batches capped at the server limit', () => {
    const resolved = resolveOptions(base);
    expect(resolved).toMatchObject({
      sendDeviceIds: false,
      defaultOptOut: false,
      flushAt: 20,
      flushIntervalMs: 5_000,
      maxQueueSize: 1_000,
      maxBatchBytes: 512_000,
    });
    expect(resolveOptions({ ...base, maxBatchBytes: 10_000_000 }).maxBatchBytes).toBe(512_000);
    // Never below one maximal event plus the envelope, or such an event could never be sent.
    expect(resolveOptions({ ...base, maxBatchBytes: 1_000 }).maxBatchBytes).toBe(32_768 + 12);
  });
});
