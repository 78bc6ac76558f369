import { utf8ByteLength } from './byte-size.js';
import { type ErrorHandler, LayersError } from './errors.js';
import type { QueuedEvent, SdkEvent } from './event.js';
import { MAX_EVENT_BYTES } from './limits.js';
import type { KeyValueStorage } from './storage.js';

/**
 * The bounded queue of events waiting for the server's acknowledgement. An event leaves it only
 * when the server answered 2xx for its batch (or the SDK gave up on it for a reported reason), so
 * in-flight events are still here and still persisted: a reload mid-request loses nothing, and the
 * server's dedup by event_id makes the resend harmless.
 *
 * When full, the OLDEST events are dropped: an app offline for a long time keeps its most recent
 * activity and never grows without bound.
 */
export interface EventQueueOptions {
  maxSize: number;
  /** Undefined: memory only (Node default). */
  storage: KeyValueStorage | undefined;
  storageKey: string;
  report: ErrorHandler;
}

export type EventQueue = ReturnType<typeof createEventQueue>;

export function createEventQueue(options: EventQueueOptions) {
  const { maxSize, storage, storageKey, report } = options;
  let items: QueuedEvent[] = [];
  /**
   * Ids this instance removed since its last write. Another tab of the same app writes the same
   * storage key; on write, stored events that are neither ours nor removed by us belong to that tab
   * and are kept, so two tabs do not erase each other's pending events.
   */
  const removedSinceWrite = new Set<string>();
  let saveScheduled = false;
  let storageFailureReported = false;

  function storageFailed(action: string, cause: unknown): void {
    if (storageFailureReported) return; // once until storage works again, not once per event
    storageFailureReported = true;
    report(
      new LayersError(
        'storage_failed',
        `Could not ${action} the persisted event queue; keeping it in memory`,
        {
          cause,
        },
      ),
    );
  }

  function readStored(): SdkEvent[] {
    if (!storage) return [];
    let text: string | null;
    try {
      text = storage.getItem(storageKey);
    } catch (error) {
      storageFailed('read', error);
      return [];
    }
    if (!text) return [];
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.filter(isStoredEvent) : [];
    } catch {
      return []; // corrupted by hand or by an old version: start over rather than crash the app
    }
  }

  /** Writes through to storage; coalesced per task so a burst of `track` calls writes once. */
  function scheduleSave(): void {
    if (!storage || saveScheduled) return;
    saveScheduled = true;
    queueMicrotask(() => {
      if (saveScheduled) saveNow();
    });
  }

  function saveNow(): void {
    saveScheduled = false;
    if (!storage) return;
    const ours = new Set(items.map((item) => item.event.event_id));
    const foreign = readStored().filter(
      (event) => !ours.has(event.event_id) && !removedSinceWrite.has(event.event_id),
    );
    const merged = [...foreign, ...items.map((item) => item.event)].slice(-maxSize);
    try {
      if (merged.length === 0) storage.removeItem(storageKey);
      else storage.setItem(storageKey, JSON.stringify(merged));
      removedSinceWrite.clear();
      storageFailureReported = false;
    } catch (error) {
      storageFailed('write', error);
    }
  }

  function dropOldest(count: number): void {
    if (count <= 0) return;
    const dropped = items.slice(0, count);
    items = items.slice(count);
    for (const item of dropped) removedSinceWrite.add(item.event.event_id);
    report(
      new LayersError(
        'queue_overflow',
        `Event queue full (max ${maxSize}): dropped the ${dropped.length} oldest event(s)`,
        { eventIds: dropped.map((item) => item.event.event_id) },
      ),
    );
  }

  return {
    /** Loads what a previous page load (or another tab) left in storage. Returns how many. */
    restore(): number {
      const known = new Set(items.map((item) => item.event.event_id));
      const restored: QueuedEvent[] = [];
      for (const event of readStored()) {
        if (known.has(event.event_id)) continue;
        known.add(event.event_id);
        const bytes = utf8ByteLength(JSON.stringify(event));
        // Events were checked when queued; this only guards against a storage edited by hand.
        if (bytes <= MAX_EVENT_BYTES) restored.push({ event, bytes });
      }
      items = [...restored, ...items];
      const overflow = items.length - maxSize;
      if (overflow > 0) dropOldest(overflow);
      return restored.length;
    },

    push(item: QueuedEvent): number {
      items.push(item);
      const overflow = items.length - maxSize;
      if (overflow > 0) dropOldest(overflow);
      scheduleSave();
      return Math.max(0, overflow);
    },

    remove(eventIds: Iterable<string>): void {
      const ids = new Set(eventIds);
      if (ids.size === 0) return;
      items = items.filter((item) => !ids.has(item.event.event_id));
      for (const id of ids) removedSinceWrite.add(id);
      scheduleSave();
    },

    /** Opt-out: forget everything, in memory and in storage (other tabs' pending events too). */
    clear(): void {
      items = [];
      removedSinceWrite.clear();
      saveScheduled = false;
      if (!storage) return;
      try {
        storage.removeItem(storageKey);
      } catch (error) {
        storageFailed('clear', error);
      }
    },

    /** Synchronous write, for page hide: the page may be gone before a microtask runs. */
    persistNow(): void {
      if (saveScheduled) saveNow();
    },

    items(): readonly QueuedEvent[] {
      return items;
    },

    get size(): number {
      return items.length;
    },
  };
}

function isStoredEvent(value: unknown): value is SdkEvent {
  const e = value as Partial<SdkEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.event_id === 'string' &&
    (e.type === 'track' || e.type === 'identify') &&
    typeof e.timestamp === 'string' &&
    typeof e.app_id === 'string'
  );
}
