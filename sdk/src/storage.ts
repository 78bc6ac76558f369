/**
 * Where the SDK keeps its queue, the opt-out flag and the identified user between page loads.
 * The interface is the subset of Web Storage the SDK needs, so `window.localStorage` fits as is and
 * tests (or apps with their own persistence, e.g. a file in Node) can inject anything else.
 */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Process memory only: the default in Node, and the fallback where localStorage is unusable. */
export function createMemoryStorage(): KeyValueStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => {
      items.set(key, value);
    },
    removeItem: (key) => {
      items.delete(key);
    },
  };
}

/**
 * `localStorage` when this is a browser page and storage actually works. Merely reading
 * `window.localStorage` throws in sandboxed iframes and with cookies blocked, and Safari's private
 * mode used to throw on the first write, hence the probe.
 */
export function detectBrowserStorage(): KeyValueStorage | undefined {
  if (typeof window === 'undefined' || typeof document === 'undefined') return undefined;
  try {
    const storage = window.localStorage;
    const probe = '__layers_probe__';
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return storage;
  } catch {
    return undefined;
  }
}

/** Storage keys are namespaced per publishable key and app id, as two apps may share an origin. */
export function storageKeys(key: string, appId: string) {
  const ns = `layers:v1:${encodeURIComponent(appId)}:${key}`;
  return {
    queue: `${ns}:queue`,
    optOut: `${ns}:opt_out`,
    userId: `${ns}:user_id`,
    anonymousId: `${ns}:anonymous_id`,
  } as const;
}
