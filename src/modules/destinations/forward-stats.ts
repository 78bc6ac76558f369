import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import type { TenantScope } from '../../lib/scope.ts';

/**
 * Forwarding counts per destination and hour (class capi_forward_stats: counts only). `queued` (and
 * `dropped_not_consented`) count an event in the hour it was queued, added when it leaves the queue
 * (so the ingest commit writes no counter row that concurrent commits would wait on); the forwarder adds what it sent,
 * rejected and dropped in the transaction that deletes those rows; the sweeper adds what expired and
 * an erasure what it deleted. Queue age is a histogram of seconds from ingest to the platform's
 * acceptance; p99 is read as the upper bound of the bucket holding the 99th percentile.
 */
export const AGE_BUCKETS_S = [
  1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 259200,
];

export function ageHistogram(agesS: readonly number[]): number[] {
  const h = new Array<number>(AGE_BUCKETS_S.length + 1).fill(0);
  for (const a of agesS) {
    let i = AGE_BUCKETS_S.findIndex((b) => a <= b);
    if (i < 0) i = AGE_BUCKETS_S.length;
    h[i] = (h[i] ?? 0) + 1;
  }
  return h;
}

export function p99(histogram: readonly number[]): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(total * 0.99);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return AGE_BUCKETS_S[i] ?? AGE_BUCKETS_S[AGE_BUCKETS_S.length - 1]! * 2;
  }
  return null;
}

export type StatsDelta = {
  orgId: string;
  projectId: string;
  destinationId: string;
  at: Date;
  sent?: number;
  rejected?: Record<string, number>;
  tooOld?: number;
  expired?: number;
  erased?: number;
  agesS?: readonly number[];
  /**
   * Rows leaving the queue (any way): each is counted as `queued` in the hour it was queued (and as
   * `dropped_not_consented` there when its device ids were withheld).
   */
  left?: readonly { queuedAt: Date; withheld?: boolean; n?: number }[];
};

const hourOf = (d: Date) => new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);

type StatsRow = {
  hour: Date;
  queued: number;
  sent: number;
  rejected: Record<string, number>;
  dropped_too_old: number;
  dropped_not_consented: number;
  expired: number;
  erased: number;
  age_histogram: number[];
};

/** The stats' retention (class capi_forward_stats): the longest window a read covers. */
const MAX_WINDOW_MS = 90 * 24 * 3_600_000;

export function createForwardStats() {
  return {
    /** Adds to the hour's counts, in the caller's transaction (the one that deleted the rows counted). */
    async add(db: Kysely<Database>, d: StatsDelta): Promise<void> {
      const hist = d.agesS && d.agesS.length > 0 ? ageHistogram(d.agesS) : [];
      const hour = hourOf(d.at).getTime();
      const queued = new Map<number, { n: number; withheld: number }>([[hour, { n: 0, withheld: 0 }]]);
      for (const l of d.left ?? []) {
        const h = hourOf(l.queuedAt).getTime();
        const entry = queued.get(h) ?? { n: 0, withheld: 0 };
        entry.n += l.n ?? 1;
        if (l.withheld) entry.withheld += l.n ?? 1;
        queued.set(h, entry);
      }
      for (const [h, q] of queued) {
        if (h === hour || q.n === 0) continue;
        await sql`
          INSERT INTO capi_forward_stats AS s (org_id, project_id, destination_id, hour, queued, dropped_not_consented)
          VALUES (${d.orgId}, ${d.projectId}, ${d.destinationId}, ${new Date(h)}, ${q.n}, ${q.withheld})
          ON CONFLICT (destination_id, hour) DO UPDATE SET queued = s.queued + excluded.queued,
            dropped_not_consented = s.dropped_not_consented + excluded.dropped_not_consented`.execute(db);
      }
      const here = queued.get(hour) as { n: number; withheld: number };
      await sql`
        INSERT INTO capi_forward_stats AS s (org_id, project_id, destination_id, hour, queued, dropped_not_consented,
          sent, rejected, dropped_too_old, expired, erased, age_histogram)
        VALUES (${d.orgId}, ${d.projectId}, ${d.destinationId}, ${new Date(hour)}, ${here.n}, ${here.withheld}, ${d.sent ?? 0},
          ${JSON.stringify(d.rejected ?? {})}::jsonb, ${d.tooOld ?? 0}, ${d.expired ?? 0}, ${d.erased ?? 0}, ${hist}::int[])
        ON CONFLICT (destination_id, hour) DO UPDATE SET
          queued = s.queued + excluded.queued,
          dropped_not_consented = s.dropped_not_consented + excluded.dropped_not_consented,
          sent = s.sent + excluded.sent,
          dropped_too_old = s.dropped_too_old + excluded.dropped_too_old,
          expired = s.expired + excluded.expired,
          erased = s.erased + excluded.erased,
          rejected = (SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM (
            SELECT k, sum(v::int) AS v FROM (
              SELECT key AS k, value AS v FROM jsonb_each_text(s.rejected)
              UNION ALL SELECT key, value FROM jsonb_each_text(excluded.rejected)) AS both_sides GROUP BY k) AS merged),
          age_histogram = CASE WHEN cardinality(excluded.age_histogram) = 0 THEN s.age_histogram
            WHEN cardinality(s.age_histogram) = 0 THEN excluded.age_histogram
            ELSE ARRAY(SELECT coalesce(a, 0) + coalesce(b, 0) FROM unnest(s.age_histogram, excluded.age_histogram) AS t(a, b)) END`.execute(
        db,
      );
    },

    /** The destination's hours in [since, until) (default: the last 24 hours), oldest first. */
    async read(
      scope: TenantScope,
      destinationId: string,
      q: { since?: string | undefined; until?: string | undefined },
    ) {
      const until = q.until ? new Date(q.until) : scope.now;
      const asked = q.since ? new Date(q.since) : new Date(until.getTime() - 24 * 3_600_000);
      if (!(asked.getTime() < until.getTime()))
        throw new AppError('parameter_invalid', 'since must be before until.', { param: 'since' });
      // Hours older than the stats' retention are not kept: a longer window starts there.
      const since = new Date(Math.max(asked.getTime(), until.getTime() - MAX_WINDOW_MS));
      const { rows } = await sql<StatsRow>`
        SELECT hour, queued, sent, rejected, dropped_too_old, dropped_not_consented, expired, erased, age_histogram
        FROM capi_forward_stats
        WHERE org_id = ${scope.orgId} AND destination_id = ${destinationId} AND hour >= ${hourOf(since)} AND hour < ${until}
        ORDER BY hour`.execute(scope.tx);
      return {
        object: 'destination_stats' as const,
        destination_id: destinationId,
        since: since.toISOString(),
        until: until.toISOString(),
        data: rows.map((r) => ({
          hour: r.hour.toISOString(),
          queued: r.queued,
          sent: r.sent,
          rejected: r.rejected,
          dropped: { too_old: r.dropped_too_old, not_consented: r.dropped_not_consented },
          expired: r.expired,
          erased: r.erased,
          queue_age_p99_seconds: p99(r.age_histogram),
        })),
      };
    },
  };
}

export type ForwardStats = ReturnType<typeof createForwardStats>;
