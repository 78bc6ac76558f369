/**
 * Limits of the SDK ingest contract (API.md: a batch over 500 KB or an event over 32 KB → 413) and the
 * caps on free-form JSON that keep one event from costing more than its share.
 */
export const INGEST_LIMITS = {
  batchBytes: 500 * 1024,
  eventBytes: 32 * 1024,
  batchEvents: 1000,
  eventIdLength: 128,
  eventNameLength: 200,
  userIdLength: 256,
  appIdLength: 200,
  jsonDepth: 8,
  jsonKeys: 300,
  keyLength: 128,
  stringLength: 8192,
  arrayLength: 100,
  futureSkewMs: 24 * 3_600_000,
} as const;
