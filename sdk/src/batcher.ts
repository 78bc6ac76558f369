import type { QueuedEvent } from './event.js';
import { addedBatchBytes, batchBodyBytes } from './limits.js';

export interface BatchLimits {
  maxEvents: number;
  /** Budget for the whole request body, `{"batch":[...]}` included. */
  maxBytes: number;
}

/**
 * The next batch to send: the oldest events not already in flight, in queue order, as many as fit
 * the count and the byte budget. It stops at the first event that does not fit instead of skipping
 * it, so events are delivered in the order they were tracked.
 */
export function takeBatch(
  items: readonly QueuedEvent[],
  inFlight: ReadonlySet<string>,
  limits: BatchLimits,
): QueuedEvent[] {
  const batch: QueuedEvent[] = [];
  let bytes = batchBodyBytes([]);
  for (const item of items) {
    if (batch.length >= limits.maxEvents) break;
    if (inFlight.has(item.event.event_id)) continue;
    const added = addedBatchBytes(batch.length, item.bytes);
    if (bytes + added > limits.maxBytes) break;
    batch.push(item);
    bytes += added;
  }
  return batch;
}

/** The request body, byte for byte what `batchBodyBytes` measured. */
export function serializeBatch(batch: readonly QueuedEvent[]): string {
  return `{"batch":[${batch.map((item) => JSON.stringify(item.event)).join(',')}]}`;
}
