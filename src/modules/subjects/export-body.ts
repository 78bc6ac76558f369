import { Readable } from 'node:stream';
import type { ProfileRow } from '../profiles/profiles-dal.ts';
import type { ExportLimits } from './export-limiter.ts';
import type { UserEventExport } from './subject-export.ts';

export type ExportFormat = 'json' | 'ndjson';

const profileOf = (row: ProfileRow | undefined) =>
  row
    ? {
        properties: row.properties,
        hashed_identifiers: { email_sha256: row.email_sha256, phone_sha256: row.phone_sha256 },
      }
    : null;

/**
 * The export as one JSON document (`{"object":"user_export",…,"events":[…]}`) or as NDJSON (the user
 * and profile first, then one event a line). The snapshot ends as soon as the last event is read,
 * before the client has read the tail.
 */
async function* document(format: ExportFormat, userId: string, profile: unknown, events: UserEventExport) {
  const ndjson = format === 'ndjson';
  yield ndjson
    ? `${JSON.stringify({ object: 'user', user_id: userId, profile })}\n`
    : `{"object":"user_export","user_id":${JSON.stringify(userId)},"profile":${JSON.stringify(profile)},"events":[`;
  if (events.hasEvents)
    yield* events.events(ndjson ? { between: '', after: '\n' } : { between: ',', after: '' });
  await events.close();
  if (!ndjson) yield ']}';
}

/**
 * The response body of an export, under its time limits (export-limiter.ts): cut off when the client
 * has taken no data for `idleTimeoutMs` (time spent waiting for the database does not count), or when
 * it has run for `maxDurationMs`. Headers are sent by then, so a cut-off response simply ends early
 * (the body is not valid JSON: the client can tell). However it ends, its database connection and
 * snapshot are given back, and `onClose` runs once.
 */
export function exportBody(opts: {
  format: ExportFormat;
  userId: string;
  profile: ProfileRow | undefined;
  events: UserEventExport;
  limits: Pick<ExportLimits, 'idleTimeoutMs' | 'maxDurationMs'>;
  onClose: () => void;
}): Readable {
  const { events, limits } = opts;
  const source = document(opts.format, opts.userId, profileOf(opts.profile), events);
  let stream: Readable | undefined;
  const cutOff = (why: string) => {
    // The connection first: a destroy waits for a read from the database that may never come.
    void events.close();
    stream?.destroy(new Error(`export cut off: ${why}`));
  };
  /** True while a chunk waits for the client to take it: only that time counts as idle. */
  let waitingForClient = false;
  const idle = setTimeout(() => {
    if (waitingForClient) cutOff(`the client took no data for ${limits.idleTimeoutMs} ms`);
  }, limits.idleTimeoutMs);
  const total = setTimeout(() => cutOff(`it ran for ${limits.maxDurationMs} ms`), limits.maxDurationMs);
  idle.unref();
  total.unref();

  async function* watched() {
    for await (const chunk of source) {
      waitingForClient = true;
      // Re-armed for each chunk (a timer that fired while the database was slow is armed again).
      idle.refresh();
      yield chunk;
      waitingForClient = false;
    }
  }

  stream = Readable.from(watched(), { objectMode: false });
  stream.once('close', () => {
    clearTimeout(idle);
    clearTimeout(total);
    void events.close();
    opts.onClose();
  });
  return stream;
}
