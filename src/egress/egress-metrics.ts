import { Counter, type Registry } from 'prom-client';

/**
 * Metrics of the egress gateway. Labels are the vendor id (a registry id, or `unregistered`), the
 * purpose (one of EGRESS_PURPOSES, or `invalid`), an outcome or refusal reason: a closed set each,
 * never a host, URL, id or value.
 */
export function createEgressMetrics(registry: Registry) {
  // Calls are counted in plain numbers per label set and handed to the counter when it is read:
  // prom-client hashes the labels on every inc, even a child's.
  const pendingCalls: { labels: { vendor: string; purpose: string; outcome: string }; n: number }[] = [];
  const calls = new Counter({
    name: 'layers_egress_calls_total',
    help: 'Calls that left through the egress gateway, by vendor, purpose and outcome',
    labelNames: ['vendor', 'purpose', 'outcome'] as const,
    registers: [registry],
    collect() {
      for (const p of pendingCalls)
        if (p.n > 0) {
          this.inc(p.labels, p.n);
          p.n = 0;
        }
    },
  });
  const refusals = new Counter({
    name: 'layers_egress_refusals_total',
    help: 'Calls the egress gateway refused before a socket opened, by vendor, purpose and reason',
    labelNames: ['vendor', 'purpose', 'reason'] as const,
    registers: [registry],
  });
  const duration = createDurationHistogram(registry);
  const ledgerWritten = new Counter({
    name: 'layers_egress_ledger_written_total',
    help: 'Egress ledger rows committed',
    registers: [registry],
  });
  const ledgerDropped = new Counter({
    name: 'layers_egress_ledger_dropped_total',
    help: 'Egress ledger rows dropped (buffer full while the database was unavailable, or at shutdown)',
    registers: [registry],
  });
  return {
    /** One call's counter and latency histogram for a label set (resolve once, use per call). */
    callSeries(labels: { vendor: string; purpose: string; outcome: string }) {
      const pending = { labels: { ...labels }, n: 0 };
      pendingCalls.push(pending);
      const latency = duration.series({ vendor: labels.vendor, purpose: labels.purpose });
      return {
        observe(seconds: number): void {
          pending.n++;
          latency.observe(seconds);
        },
      };
    },
    calls,
    refusals,
    ledger: { written: (n: number) => ledgerWritten.inc(n), dropped: (n: number) => ledgerDropped.inc(n) },
  };
}

export type EgressMetrics = ReturnType<typeof createEgressMetrics>;

const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * `layers_egress_call_duration_seconds`, a histogram by vendor and purpose, kept as plain bucket
 * counts per label set and exposed in prom-client's format when the registry is read (its own
 * Histogram hashes the labels of every observation).
 */
function createDurationHistogram(registry: Registry) {
  const name = 'layers_egress_call_duration_seconds';
  const help = 'Egress call latency (all attempts and backoff), by vendor and purpose';
  type Series = { labels: { vendor: string; purpose: string }; counts: number[]; sum: number; count: number };
  const all = new Map<string, Series>();
  const metric = {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const s of all.values()) {
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += s.counts[i] ?? 0;
          values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` });
        values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
        values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
      }
      return { name, help, type: metric.type, values, aggregator: metric.aggregator };
    },
    reset() {
      for (const s of all.values()) {
        s.counts.fill(0);
        s.sum = 0;
        s.count = 0;
      }
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return {
    series(labels: { vendor: string; purpose: string }) {
      const key = `${labels.vendor}|${labels.purpose}`;
      let s = all.get(key);
      if (!s) {
        s = { labels: { ...labels }, counts: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
        all.set(key, s);
      }
      const series = s;
      return {
        observe(seconds: number): void {
          let i = 0;
          while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++;
          if (i < DURATION_BUCKETS.length) series.counts[i] = (series.counts[i] ?? 0) + 1;
          series.sum += seconds;
          series.count++;
        },
      };
    },
  };
}
