import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { newId } from '../../lib/ids.ts';
import type { GeoResolver } from '../../privacy/geo-resolver.ts';
import type { AuthenticatedKey } from '../api-keys/api-key-authenticator.ts';
import type { DeviceIdHandoff, DeviceIdSink } from './device-id-sink.ts';
import { INGEST_LIMITS } from './event-limits.ts';
import { type PreparedEvent, prepareEvent } from './event-preparer.ts';
import { isRejection, type ValidEvent, validateEvent } from './event-validator.ts';
import type { ForwardItem } from './ingest-dal.ts';
import { dedupKey, type ForwardingRow, type IngestWriter } from './ingest-writer.ts';
import type { ProjectPolicy, ProjectPolicyCache } from './project-policy-cache.ts';

/**
 * Makes, for one request, the function that builds each event's forwarding items for the project's
 * enabled destinations (modules/destinations/forward-builder.ts), while the raw identifiers are
 * still in memory; the writer seals the items of a commit into its queue rows. One per request: it
 * may reuse work across the request's events.
 */
export type ForwardRowBuilder = () => (input: {
  orgId: string;
  projectId: string;
  valid: ValidEvent;
  prepared: PreparedEvent;
  targets: ProjectPolicy['destinations'];
}) => ForwardItem[];

const SUPPRESSED = {
  code: 'user_suppressed',
  message: 'This user was erased with suppression; events for them are refused.',
};

/** An event the database refused although it passed validation (ingest-writer.ts isolates it). */
const UNSTORABLE = {
  code: 'unstorable_event',
  message: 'The database could not store this event (a value it cannot hold); retrying it will not help.',
};

export type IngestResult = {
  accepted: number;
  duplicates: number;
  rejected: { index: number; code: string; message: string }[];
};

export type IngestMetrics = {
  accepted(n: number): void;
  duplicates(n: number): void;
  rejected(code: string): void;
};

/**
 * SDK ingest: validate each event (per-event rejections, never a silent drop), apply the privacy
 * pipeline, write through group commit, and answer only after COMMIT. Device ids go to the
 * forwarding seam for the events that were actually stored.
 */
export function createIngestService(deps: {
  writer: IngestWriter;
  policies: ProjectPolicyCache;
  geo: GeoResolver;
  deviceIds: DeviceIdSink;
  /** Conversions API forwarding; absent: nothing is ever queued. */
  forwarding?: ForwardRowBuilder;
  /** Users erased with suppression: their events are refused (see modules/subjects). */
  suppressions: { isSuppressed(orgId: string, projectId: string): Promise<(userId: string) => boolean> };
  clock: Clock;
  metrics: IngestMetrics;
}) {
  return {
    async ingest(
      key: AuthenticatedKey,
      batch: unknown[],
      connectionIp: string | undefined,
      bodyBytes: number,
    ): Promise<IngestResult> {
      const projectId = key.projectId as string;
      // No event can be larger than the whole body: measure events one by one only when it could matter.
      if (bodyBytes > INGEST_LIMITS.eventBytes) oversizedEventGuard(batch);
      const policy = await deps.policies.get(key.orgId, projectId);
      const suppressed = await deps.suppressions.isSuppressed(key.orgId, projectId);
      const now = deps.clock.now();
      const rejected: IngestResult['rejected'] = [];
      const rows: ForwardingRow[] = [];
      /** The batch index of each row, to report the ones the commit refuses. */
      const rowIndex: number[] = [];
      const handoffs: DeviceIdHandoff[] = [];
      // Only projects with an enabled destination build forward rows (the policy cache says so).
      const forwardRows = policy?.active && policy.destinations.length > 0 ? deps.forwarding?.() : undefined;

      batch.forEach((raw, index) => {
        if (!policy?.active) {
          rejected.push({
            index,
            code: 'project_inactive',
            message: 'The project is pending deletion; events are not accepted.',
          });
          return;
        }
        const valid = validateEvent(raw, now);
        if (isRejection(valid)) {
          rejected.push({ index, code: valid.code, message: valid.message });
          return;
        }
        const prepared = prepareEvent(valid, { piiPolicy: policy.piiPolicy, connectionIp, geo: deps.geo });
        if ('rejection' in prepared) {
          rejected.push({ index, ...prepared.rejection });
          return;
        }
        // The user id as stored (an email address as user id is stored as its hash).
        if (prepared.event.user_id !== null && suppressed(prepared.event.user_id)) {
          rejected.push({ index, ...SUPPRESSED });
          return;
        }
        const forward = forwardRows
          ? forwardRows({
              orgId: key.orgId,
              projectId,
              valid,
              prepared: prepared.event,
              targets: policy.destinations,
            })
          : [];
        const row: ForwardingRow = {
          ...prepared.event,
          id: newId('event', now.getTime()),
          project_id: projectId,
        };
        if (forward.length > 0) row.forward = forward;
        rows.push(row);
        rowIndex.push(index);
        // Device ids of a forwarded event went into its queue rows (or were withheld: no consent).
        if (forward.length === 0 && (prepared.device.idfa || prepared.device.gaid)) {
          handoffs.push({
            orgId: key.orgId,
            projectId,
            eventId: valid.event_id,
            userId: valid.user_id,
            anonymousId: valid.anonymous_id,
            device: prepared.device,
          });
        }
      });

      let inserted: Set<string>;
      let refused: Set<string> | undefined;
      let unstorable: number[] | undefined;
      try {
        ({ inserted, suppressed: refused, refused: unstorable } = await deps.writer.write(key.orgId, rows));
      } catch {
        throw new AppError(
          'service_unavailable',
          'Events could not be stored right now; retry the batch (event_id makes retries safe).',
          {
            headers: { 'Retry-After': '1' },
          },
        );
      }
      // The cache above may be up to 5 s stale: the commit itself refused the users suppressed since.
      let stored = rows;
      if ((refused && refused.size > 0) || (unstorable && unstorable.length > 0)) {
        const refusedRows = new Set(unstorable);
        stored = [];
        rows.forEach((r, i) => {
          if (refusedRows.has(i)) rejected.push({ index: rowIndex[i] as number, ...UNSTORABLE });
          else if (!refused?.has(dedupKey(r.project_id, r.event_id))) stored.push(r);
          else rejected.push({ index: rowIndex[i] as number, ...SUPPRESSED });
        });
        rejected.sort((a, b) => a.index - b.index);
      }
      // `delete` credits each stored event once, even if the batch carried it twice.
      const accepted = stored.filter((r) => inserted.delete(dedupKey(r.project_id, r.event_id)));
      const acceptedIds = new Set(accepted.map((r) => r.event_id));
      deps.deviceIds.accept(handoffs.filter((h) => acceptedIds.has(h.eventId)));
      deps.metrics.accepted(accepted.length);
      deps.metrics.duplicates(stored.length - accepted.length);
      for (const r of rejected) deps.metrics.rejected(r.code);
      return { accepted: accepted.length, duplicates: stored.length - accepted.length, rejected };
    },
  };
}

/** API.md: an event over 32 KB makes the whole request 413 (no silent drops), naming the event. */
function oversizedEventGuard(batch: unknown[]): void {
  batch.forEach((event, index) => {
    if (Buffer.byteLength(JSON.stringify(event) ?? '') > INGEST_LIMITS.eventBytes) {
      throw new AppError('body_too_large', `Event ${index} is larger than 32 KB; split or trim it.`, {
        param: `batch[${index}]`,
      });
    }
  });
}

export type IngestService = ReturnType<typeof createIngestService>;
