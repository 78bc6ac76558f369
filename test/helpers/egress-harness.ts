import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { loadConfig } from '../../src/config.ts';
import { createAllowlist, type DestinationLookup } from '../../src/egress/egress-allowlist.ts';
import { createEgressGateway, type EgressLedgerSink } from '../../src/egress/egress-gateway.ts';
import { createEgressMetrics } from '../../src/egress/egress-metrics.ts';
import type { EgressCall } from '../../src/egress/egress-types.ts';
import { createLogger } from '../../src/http/logging.ts';
import { newId } from '../../src/lib/ids.ts';
import type {
  EgressLedgerEntry,
  EgressLedgerRow,
} from '../../src/modules/egress-ledger/egress-ledger-dal.ts';
import { loadSubprocessors } from '../../src/privacy/subprocessors.ts';

/**
 * An egress gateway for tests: the repository's sub-processor registry as its allowlist, its own
 * metrics registry, its log lines captured as raw JSON text, backoff sleeps recorded instead of
 * slept, and (unless a real ledger writer is given) its ledger rows collected in memory.
 */
export function testGateway(
  opts: {
    redirects?: Record<string, string>;
    destinations?: DestinationLookup;
    ledger?: EgressLedgerSink;
    dispatcher?: Dispatcher;
  } = {},
) {
  const registry = new Registry();
  const metrics = createEgressMetrics(registry);
  const logs: string[] = [];
  const logger = createLogger({
    level: 'info',
    stream: new Writable({
      write(chunk, _enc, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  const rows: EgressLedgerEntry[] = [];
  const sleeps: number[] = [];
  const gateway = createEgressGateway({
    allowlist: createAllowlist(loadSubprocessors(loadConfig({}).subprocessorsFile)),
    redirects: new Map(Object.entries(opts.redirects ?? {})),
    ledger: opts.ledger ?? {
      enqueue: (row) => rows.push(row) - 1,
      recorded: async () => true,
    },
    metrics,
    logger,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...(opts.destinations ? { destinations: opts.destinations } : {}),
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  async function counter(name: string, labels: Record<string, string>): Promise<number> {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const values = (metric?.values ?? []) as { value: number; labels: Record<string, string> }[];
    return values
      .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((sum, v) => sum + v.value, 0);
  }
  return { gateway, registry, logs, rows, sleeps, counter };
}

/** A valid LLM call to OpenAI; override what the test is about. */
export function llmCall(overrides: Partial<EgressCall> = {}): EgressCall {
  return {
    orgId: newId('org'),
    projectId: newId('project'),
    vendor: 'openai',
    purpose: 'llm',
    dataClasses: ['project_content'],
    records: 1,
    method: 'POST',
    url: 'https://api.openai.com/v1/responses',
    body: { json: { model: 'gpt-test', input: 'Write a caption for a summer sale on sandals.' } },
    ...overrides,
  };
}

/** A ledger row as the writer stores it: one successful LLM call for the org, unless overridden. */
export function ledgerRow(over: Partial<EgressLedgerRow> & Pick<EgressLedgerRow, 'org_id'>): EgressLedgerRow {
  return {
    id: randomUUID(),
    project_id: null,
    vendor: 'openai',
    host: 'api.openai.com',
    purpose: 'llm',
    data_classes: ['project_content'],
    records: 1,
    bytes_out: 100,
    bytes_in: 50,
    attempts: 1,
    status: 200,
    outcome: 'ok',
    latency_ms: 12.5,
    created_at: new Date(),
    ...over,
  };
}
