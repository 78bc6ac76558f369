import type { PublishableMedia } from '../../platforms/publishing-port.ts';
import type { MediaRow } from '../media/media-dal.ts';
import type { MediaService } from '../media/media-service.ts';

/**
 * A stored media row as the publishers see it: its facts, a range read of its bytes (a chunked or
 * resumable upload reads one chunk a step) and its signed URL under LAYERS_PUBLIC_URL (the media
 * service signs it; the platforms that fetch by URL get it in the one call that needs it).
 */
export function publishableMedia(media: MediaService, row: MediaRow, now: () => Date): PublishableMedia {
  return {
    id: row.id,
    kind: row.kind,
    contentType: row.content_type,
    bytes: Number(row.bytes),
    sha256: row.sha256,
    width: row.width,
    height: row.height,
    durationMs: row.duration_ms,
    read: (start, end) => readRange(media, row, start, end),
    publicUrl: () => media.toResponse(row, now()).url,
  };
}

/**
 * Bytes [start, end) of the object. The store streams whole objects, so the stream is read up to
 * `end` and closed there: a chunk costs reading what precedes it, never holding more than the chunk.
 */
async function readRange(media: MediaService, row: MediaRow, start: number, end: number): Promise<Buffer> {
  const total = Number(row.bytes);
  if (
    !(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= total)
  )
    throw new RangeError('media range out of bounds');
  const object = await media.store.get({ orgId: row.org_id, projectId: row.project_id }, row.storage_key);
  if (!object) throw new Error('media object missing from the store');
  const parts: Buffer[] = [];
  let offset = 0;
  try {
    for await (const chunk of object.stream as AsyncIterable<Buffer>) {
      const from = Math.max(start - offset, 0);
      const to = Math.min(end - offset, chunk.length);
      if (to > from) parts.push(chunk.subarray(from, to));
      offset += chunk.length;
      if (offset >= end) break;
    }
  } finally {
    object.stream.destroy();
  }
  const out = Buffer.concat(parts);
  if (out.length !== end - start) throw new Error('media object shorter than its row');
  return out;
}
