import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Metrics of the egress gateway. Labels are the vendor id (a registry id, or `unregistered`), the
 * purpose (one of EGRESS_PURPOSES, or `invalid`), an outcome or refusal reason: a closed set each,
 * never a host, URL, id or value.
 */
export function createEgressMetrics(registry: Registry) {
  const calls = new Counter({
    name: 'layers_egress_calls_total',
    help: 'Calls that left through the egress gateway, by vendor, purpose and outcome',
    labelNames: ['vendor', 'purpose', 'outcome'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'layers_egress_refusals_total',
    help: 'Calls the egress gateway refused before a socket opened, by vendor, purpose and reason',
    labelNames: ['vendor', 'purpose', 'reason'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'layers_egress_call_duration_seconds',
    help: 'Egress call latency (all attempts and backoff), by vendor and purpose',
    labelNames: ['vendor', 'purpose'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
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
    calls,
    refusals,
    duration,
    ledger: { written: (n: number) => ledgerWritten.inc(n), dropped: (n: number) => ledgerDropped.inc(n) },
  };
}

export type EgressMetrics = ReturnType<typeof createEgressMetrics>;
