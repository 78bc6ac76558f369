import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { EgressError } from '../../egress/egress-error.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import { enqueueJob } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { systemScope } from '../../lib/scope.ts';
import {
  checkMetaEvent,
  classifyMetaAnswer,
  META_MAX_BATCH,
  metaEventsUrl,
  metaRequestBody,
} from '../../platforms/meta/capi-events.ts';
import {
  checkTikTokEvent,
  classifyTikTokAnswer,
  TIKTOK_EVENTS_URL,
  TIKTOK_MAX_BATCH,
  tiktokRequestBody,
} from '../../platforms/tiktok/events-track.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { DestinationRow } from './destinations-dal.ts';
import { FORWARD_TASK, TOKEN_FIELD } from './destinations-service.ts';
import { openEvents, type QueuedEvent, sealEvents } from './forward-batch.ts';
import type { EventCheck, ForwardEvent, PlatformVerdict } from './forward-event.ts';
import type { ClaimedRow, ForwardQueueDal } from './forward-queue-dal.ts';
import type { ForwardStats } from './forward-stats.ts';

/**
 * The forwarder (job `capi.forward`, one destination per run, one run per destination at a time under
 * a session advisory lock that dies with a killed worker's connection): reads the due rows holding up
 * to 1,000 events together (a row is one ingest commit's events, forward-batch.ts), decrypts them,
 * checks each event alone (Meta drops events older than 7 days — counted — and an event it
 * would refuse is rejected here instead of sinking the batch), sends the rest in one request through
 * the egress gateway, and settles the batch:
 * - accepted: the rows are deleted, and the counts added, in one transaction, committed only once
 *   the egress ledger holds the call's row (a crash before that repeats the send with the same
 *   event ids; the platforms deduplicate on event_id + event name);
 * - refused as a whole (HTTP 4xx content errors, our content guard): split in halves and resent, down
 *   to the single events that are refused, which are deleted and counted by error code;
 * - retryable (timeouts, 5xx, throttling codes): given back with exponential backoff (Retry-After
 *   when the platform says so) until they are sent or expire at 72 hours;
 * - bad token: the destination is paused (status `paused`, webhook `destination.paused`); its rows
 *   wait for a new token (PATCH) or expire.
 */
export const FORWARD_MAX_AGE_MS = 72 * 3_600_000;
const RUN_BUDGET_MS = 20_000;
const CALL_TIMEOUT_MS = 10_000;
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_MAX_MS = 30 * 60_000;

export type ForwarderDeps = {
  db: Kysely<Database>;
  dal: ForwardQueueDal;
  stats: ForwardStats;
  envelope: Envelope;
  egress: Pick<EgressGateway, 'request'>;
  events: WebhookEventEmitter;
  clock: Clock;
  logger?: Pick<Logger, 'info' | 'warn'>;
  random?: () => number;
};

type Decoded = QueuedEvent & { row: ClaimedRow };
type Settlement = {
  sent: Decoded[];
  rejected: { item: Decoded; code: string }[];
  /** Rows whose ciphertext does not open: all their events are rejected. */
  unreadable: ClaimedRow[];
  tooOld: Decoded[];
  retry: Decoded[];
  retryAfterMs?: number;
  badToken?: string;
};

const platformOf = (type: DestinationRow['type']) =>
  type === 'meta_capi'
    ? { vendor: 'meta', max: META_MAX_BATCH, classify: classifyMetaAnswer }
    : { vendor: 'tiktok', max: TIKTOK_MAX_BATCH, classify: classifyTikTokAnswer };

export function createForwarder(deps: ForwarderDeps) {
  const { db, dal, envelope, clock } = deps;
  const random = deps.random ?? Math.random;

  function check(d: DestinationRow, e: ForwardEvent, nowS: number): EventCheck {
    return d.type === 'meta_capi' ? checkMetaEvent(e, nowS) : checkTikTokEvent(e);
  }

  /** One platform request for `batch`; EgressError answers are classified like platform answers. */
  async function call(
    d: DestinationRow,
    token: string,
    batch: Decoded[],
  ): Promise<{ verdict: PlatformVerdict; recorded: Promise<boolean> }> {
    const events = batch.map((b) => b.event);
    const consented = events.some((e) => e.device.tracking === true && (e.device.idfa || e.device.gaid));
    const common = {
      orgId: d.org_id,
      projectId: d.project_id,
      purpose: 'capi' as const,
      dataClasses: [
        'conversion_events' as const,
        'hashed_identifiers' as const,
        ...(consented ? (['device_ids'] as const) : []),
      ],
      records: events.length,
      method: 'POST' as const,
      timeoutMs: CALL_TIMEOUT_MS,
      maxAttempts: 1,
      // The batch's calls are accounted together, before the queue rows are settled (forwardBatch).
      accounted: false,
    };
    const p = platformOf(d.type);
    try {
      const res = await deps.egress.request(
        d.type === 'meta_capi'
          ? {
              ...common,
              vendor: 'meta',
              url: metaEventsUrl(d.platform_id),
              body: { json: metaRequestBody(events, d.test_event_code) },
              credentials: { query: { access_token: token } },
            }
          : {
              ...common,
              vendor: 'tiktok',
              url: TIKTOK_EVENTS_URL,
              headers: { 'access-token': token },
              body: { json: tiktokRequestBody(d.platform_id, events, d.test_event_code) },
            },
      );
      return { verdict: p.classify(res.status, res.body), recorded: res.recorded };
    } catch (error) {
      if (!(error instanceof EgressError)) throw error;
      const recorded = error.recorded ?? Promise.resolve(true);
      if (error.code === 'content_refused')
        return { verdict: { kind: 'rejected', code: 'content_refused' }, recorded };
      if (error.refused) return { verdict: { kind: 'retry', code: error.code }, recorded };
      if (error.code === 'timeout' || error.code === 'network_error')
        return { verdict: { kind: 'retry', code: error.code }, recorded };
      const verdict = p.classify(error.status, error.body);
      return {
        verdict:
          verdict.kind === 'retry' && error.retryAfterMs !== undefined
            ? { ...verdict, retryAfterMs: error.retryAfterMs }
            : verdict,
        recorded,
      };
    }
  }

  /** Sends `batch`, splitting a refused one until the refused events are found. */
  async function send(
    d: DestinationRow,
    token: string,
    batch: Decoded[],
    out: Settlement,
    ledger: Promise<boolean>[],
  ) {
    if (batch.length === 0 || out.badToken) return;
    const { verdict, recorded } = await call(d, token, batch);
    ledger.push(recorded);
    switch (verdict.kind) {
      case 'ok':
        out.sent.push(...batch);
        return;
      case 'retry':
        out.retry.push(...batch);
        if (verdict.retryAfterMs !== undefined)
          out.retryAfterMs = Math.max(out.retryAfterMs ?? 0, verdict.retryAfterMs);
        return;
      case 'bad_token':
        out.badToken = verdict.code;
        out.retry.push(...batch);
        return;
      case 'rejected': {
        if (batch.length === 1) {
          out.rejected.push({ item: batch[0] as Decoded, code: verdict.code });
          return;
        }
        const half = Math.ceil(batch.length / 2);
        await send(d, token, batch.slice(0, half), out, ledger);
        await send(d, token, batch.slice(half), out, ledger);
      }
    }
  }

  function backoffMs(attempts: number, retryAfterMs: number | undefined): number {
    const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
    return Math.max(retryAfterMs ?? 0, Math.round(exp / 2 + (random() * exp) / 2));
  }

  async function settle(d: DestinationRow, rows: readonly ClaimedRow[], s: Settlement): Promise<void> {
    const now = clock.now();
    const rejectedByCode: Record<string, number> = {};
    for (const r of s.rejected) rejectedByCode[r.code] = (rejectedByCode[r.code] ?? 0) + 1;
    for (const r of s.unreadable)
      rejectedByCode.undecryptable = (rejectedByCode.undecryptable ?? 0) + r.event_count;
    const retryOf = new Map<string, Decoded[]>();
    for (const x of s.retry) {
      const list = retryOf.get(x.row.id);
      if (list) list.push(x);
      else retryOf.set(x.row.id, [x]);
    }
    const decided = [...s.sent, ...s.rejected.map((r) => r.item), ...s.tooOld];
    const decidedIn = new Set(decided.map((x) => x.row.id));
    await withTenant(db, d.org_id, async (tx) => {
      // Every event of the row decided: gone. None: put off as it is. Some: the rest sealed again.
      await dal.remove(
        tx,
        rows.filter((r) => !retryOf.has(r.id)).map((r) => r.id),
      );
      const attempts = 1 + Math.max(0, ...s.retry.map((x) => x.row.attempts));
      // Held by a refused token: due at once when a new token resumes the destination (not a failure).
      const delay = s.badToken ? 0 : backoffMs(attempts, s.retryAfterMs);
      const next = new Date(now.getTime() + delay);
      const whole = rows.filter((r) => retryOf.has(r.id) && !decidedIn.has(r.id)).map((r) => r.id);
      await dal.release(tx, whole, next, !s.badToken);
      for (const r of rows) {
        const rest = retryOf.get(r.id);
        if (!rest || !decidedIn.has(r.id)) continue;
        await dal.keepRemainder(
          tx,
          r.id,
          r.encrypted_payload,
          sealEvents(envelope, r.org_id, r.id, rest),
          next,
          !s.badToken,
        );
      }
      await deps.stats.add(tx, {
        orgId: d.org_id,
        projectId: d.project_id,
        destinationId: d.id,
        at: now,
        sent: s.sent.length,
        rejected: rejectedByCode,
        tooOld: s.tooOld.length,
        agesS: s.sent.map((x) => Math.max(0, (now.getTime() - x.row.created_at.getTime()) / 1000)),
        left: [
          ...decided.map((x) => ({ queuedAt: x.row.created_at, withheld: x.event.withheld === true })),
          ...s.unreadable.map((r) => ({ queuedAt: r.created_at, n: r.event_count })),
        ],
      });
      if (s.badToken && (await dal.pause(tx, d.org_id, d.id, now))) {
        await deps.events.emit(systemScope(tx, d.org_id, now), 'destination.paused', {
          id: d.id,
          object: 'destination',
          project_id: d.project_id,
          type: d.type,
          status: 'paused',
          reason: 'invalid_token',
          paused_at: now.toISOString(),
        });
      }
    });
    if (s.badToken)
      deps.logger?.warn({ destination: d.id, code: s.badToken }, 'destination paused: token refused');
  }

  /** One batch: claim, check, send, settle. Returns how many events it claimed. */
  async function forwardBatch(
    d: DestinationRow,
    token: string,
  ): Promise<{ claimed: number; paused: boolean }> {
    const now = clock.now();
    const max = platformOf(d.type).max;
    const rows = await dal.due(db, d.id, now, max);
    if (rows.length === 0) return { claimed: 0, paused: false };
    const s: Settlement = { sent: [], rejected: [], unreadable: [], tooOld: [], retry: [] };
    const sendable: Decoded[] = [];
    const nowS = Math.floor(now.getTime() / 1000);
    for (const row of rows) {
      let events: QueuedEvent[];
      try {
        events = openEvents(envelope, row);
      } catch {
        s.unreadable.push(row);
        continue;
      }
      for (const e of events) {
        const item: Decoded = { ...e, row };
        const verdict = check(d, e.event, nowS);
        if (verdict.ok) sendable.push(item);
        else if ('drop' in verdict) s.tooOld.push(item);
        else s.rejected.push({ item, code: `invalid_event:${verdict.reject}` });
      }
    }
    const ledger: Promise<boolean>[] = [];
    await send(d, token, sendable, s, ledger);
    // Accounted before acknowledged: the deletes commit only once the calls' ledger rows have.
    await Promise.all(ledger);
    await settle(d, rows, s);
    return { claimed: rows.reduce((a, r) => a + r.event_count, 0), paused: s.badToken !== undefined };
  }

  /** Batches until the queue has nothing due, the budget is spent or the destination stops. */
  async function drain(payload: { org_id: string; destination_id: string }): Promise<number | 'stopped'> {
    const started = Date.now();
    let claimedTotal = 0;
    for (;;) {
      const d = await dal.destination(db, payload.org_id, payload.destination_id);
      if (!d?.enabled || d.status !== 'active') return 'stopped';
      const token = envelope.decrypt(d.token, { orgId: d.org_id, recordId: d.id, field: TOKEN_FIELD });
      const { claimed, paused } = await forwardBatch(d, token);
      claimedTotal += claimed;
      if (paused) return 'stopped';
      if (claimed === 0 || Date.now() - started > RUN_BUDGET_MS) return claimedTotal;
    }
  }

  return {
    /** How soon after a worker start the sweep looks for work a killed worker left. */
    recoveryDelayMs: 2_000,

    /**
     * The job: under the destination's lock (another worker already on it: nothing to do, it drains
     * and looks again), forwards the due rows for up to ~20 s, then re-arms itself if more wait.
     */
    async run(payload: { org_id: string; destination_id: string }): Promise<{ sent: number }> {
      const outcome = await db.connection().execute(async (conn) => {
        if (!(await dal.tryLock(conn, payload.destination_id))) return 'stopped' as const;
        try {
          return await drain(payload);
        } finally {
          await dal.unlock(conn, payload.destination_id);
        }
      });
      if (outcome === 'stopped') return { sent: 0 };
      const claimedTotal = outcome;
      // Rows left for later (backoff): one job at their time, under its own
      // key, so the key ingest wakes with stays free for fresh events.
      // A run that drained the queue looks again a second later: events an ingest commit queued
      // without waking the job (it had woken it just before) are not left for the minute sweep.
      const next =
        (await dal.nextDue(db, payload.destination_id)) ??
        (claimedTotal > 0 ? new Date(clock.now().getTime() + 1_000) : null);
      if (next)
        await enqueueJob(db, FORWARD_TASK, payload, {
          jobKey: `${FORWARD_TASK}:${payload.destination_id}:later`,
          runAt: new Date(Math.max(next.getTime(), clock.now().getTime())),
        });
      return { sent: claimedTotal };
    },

    /**
     * The sweep (every minute, and after a worker start): rows queued more than 72 hours ago are
     * deleted and their events counted as expired; destinations with rows due (a killed worker left them, a
     * backoff ended) get a forward job.
     */
    async sweep(): Promise<{ expired: number; woken: number }> {
      const now = clock.now();
      let expired = 0;
      for (;;) {
        const gone = await withTenantless(db, async (tx) => {
          const rows = await dal.expire(tx, new Date(now.getTime() - FORWARD_MAX_AGE_MS), 5_000);
          for (const g of rows)
            await deps.stats.add(tx, {
              orgId: g.org_id,
              projectId: g.project_id,
              destinationId: g.destination_id,
              at: now,
              expired: g.n,
              left: [{ queuedAt: g.hour, n: g.n }],
            });
          return { events: rows.reduce((a, g) => a + g.n, 0), rows: rows.reduce((a, g) => a + g.rows, 0) };
        });
        expired += gone.events;
        if (gone.rows < 5_000) break;
      }
      const due = await dal.dueDestinations(db, now);
      for (const d of due)
        await enqueueJob(
          db,
          FORWARD_TASK,
          { org_id: d.org_id, destination_id: d.id },
          {
            jobKey: `${FORWARD_TASK}:${d.id}`,
          },
        );
      return { expired, woken: due.length };
    },
  };
}

/** A system transaction spanning orgs (the sweep): the system role is not subject to RLS. */
function withTenantless<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(fn);
}

export type Forwarder = ReturnType<typeof createForwarder>;
