import { createClient, type LayersClient } from '../../src/client.js';
import type { LayersError } from '../../src/errors.js';
import type { LayersOptions } from '../../src/options.js';
import type { KeyValueStorage } from '../../src/storage.js';
import { ManualTimers } from './manual-timers.js';

export const TEST_KEY = 'lyr_pk_TestKey0123456789abcdefghijk';

export interface TestClient {
  client: LayersClient;
  timers: ManualTimers;
  errors: LayersError[];
}

/** A client wired to the fake server with a manual clock, deterministic jitter, no page hooks. */
export function testClient(endpoint: string, overrides: Partial<LayersOptions> = {}): TestClient {
  const timers = (overrides.timers as ManualTimers | undefined) ?? new ManualTimers();
  const errors: LayersError[] = [];
  const client = createClient({
    key: TEST_KEY,
    endpoint,
    appId: 'com.example.app',
    timers,
    random: () => 0.5,
    storage: null,
    pageLifecycle: null,
    onError: (error) => errors.push(error),
    ...overrides,
  });
  return { client, timers, errors };
}

/** localStorage stand-in that tests can inspect, share between "page loads", or make fail. */
export class InspectableStorage implements KeyValueStorage {
  readonly items = new Map<string, string>();
  failWrites = false;

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    if (this.failWrites) throw new DOMException('quota exceeded', 'QuotaExceededError');
    this.items.set(key, value);
  }

  removeItem(key: string): void {
    this.items.delete(key);
  }

  /** Everything stored, concatenated: for "no plaintext anywhere on the device" assertions. */
  dump(): string {
    return [...this.items.entries()].map(([k, v]) => `${k}=${v}`).join('\n');
  }
}

/** The server requires a user id on every event; tests that do not identify first pass this. */
export const AS_USER = { userId: 'u_test' } as const;
