import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { AuthenticatedKey } from '../api-keys/api-key-authenticator.ts';
import { INGEST_LIMITS } from '../ingest/event-limits.ts';
import type { IngestResult, IngestService } from '../ingest/ingest-service.ts';
import { isMappingRejection, type JsonObject, parseTime, toNativeEvent } from './segment-mapping.ts';

export type SegmentResult = { success: true } & IngestResult;

/**
 * Segment-compatible ingest: each message is mapped to a native event (segment-mapping.ts) and the
 * batch goes through the native ingest service, so validation, the privacy pipeline, dedup and group
 * commit are the same code. Answers only after the accepted events are committed.
 *
 * Per-message problems are per-event rejections inside the 200, for a batch and for a single-message
 * call alike (Segment answers 200 and drops what it cannot use; here the answer says what and why).
 * 400 is left for bodies that can never succeed (JSON that does not parse, the wrong shape), which
 * Segment's clients do not retry; transient failures are 429/503, which they do retry.
 */
export function createSegmentService(deps: { ingest: IngestService; clock: Clock }) {
  return {
    async ingest(
      key: AuthenticatedKey,
      messages: unknown[],
      batch: { sentAt?: unknown; context?: unknown },
      connectionIp: string | undefined,
      bodyBytes: number,
      single: boolean,
    ): Promise<SegmentResult> {
      // Segment's limit applies to the message as sent (the native event is smaller).
      if (bodyBytes > INGEST_LIMITS.eventBytes) oversizedMessageGuard(messages, single);
      const receivedAt = deps.clock.now().getTime();
      const defaultContext =
        typeof batch.context === 'object' && batch.context !== null && !Array.isArray(batch.context)
          ? (batch.context as JsonObject)
          : undefined;
      const opts = { receivedAt, sentAt: parseTime(batch.sentAt), defaultContext };
      const events: unknown[] = [];
      const positions: number[] = [];
      const refused: IngestResult['rejected'] = [];
      for (let index = 0; index < messages.length; index++) {
        const mapped = toNativeEvent(messages[index], opts);
        if (isMappingRejection(mapped)) refused.push({ index, ...mapped });
        else {
          events.push(mapped);
          positions.push(index);
        }
      }
      // Each message was measured as sent above, which is Segment's limit: what the mapping made of
      // them needs no second measure (the native guard would stringify every event once more).
      const result =
        events.length > 0
          ? await deps.ingest.ingest(key, events, connectionIp, Math.min(bodyBytes, INGEST_LIMITS.eventBytes))
          : { accepted: 0, duplicates: 0, rejected: [] };
      // Event and message indexes differ only once a message was refused by the mapping.
      let rejected = result.rejected;
      if (refused.length > 0) {
        rejected = refused.concat(rejected.map((r) => ({ ...r, index: positions[r.index] as number })));
        rejected.sort((a, b) => a.index - b.index);
      }
      return { success: true, accepted: result.accepted, duplicates: result.duplicates, rejected };
    },
  };
}

/** 32 KB per message (Segment's limit): a larger one makes the request 413, naming the message. */
function oversizedMessageGuard(messages: unknown[], single: boolean): void {
  messages.forEach((message, index) => {
    if (Buffer.byteLength(JSON.stringify(message) ?? '') > INGEST_LIMITS.eventBytes) {
      throw new AppError(
        'body_too_large',
        single
          ? 'The message is larger than 32 KB.'
          : `Message ${index} is larger than 32 KB; split or trim it.`,
        single ? {} : { param: `batch[${index}]` },
      );
    }
  });
}

export type SegmentService = ReturnType<typeof createSegmentService>;
