/**
 * `npm run bench -- <name>`: human-readable figures, then as the last line one JSON object
 * `{"bench", "results": [{"metric", "value", "unit", "baseline", "ratio"}]}`. Every figure is a ratio
 * against a baseline measured in the same run, on the same machine, with the same load tool.
 */
const BENCHES: Record<string, () => Promise<{ run(): Promise<BenchResult[]> }>> = {
  api: () => import('./api-bench.ts'),
  ingest: () => import('./ingest-bench.ts'),
  dsr: () => import('./dsr-bench.ts'),
  webhooks: () => import('./webhooks-bench.ts'),
  retention: () => import('./retention-bench.ts'),
  egress: () => import('./egress-bench.ts'),
  forwarding: () => import('./forwarding-bench.ts'),
  generation: () => import('./generation-bench.ts'),
};

export type BenchResult = { metric: string; value: number; unit: string; baseline: number; ratio: number };

const name = process.argv[2];
const load = name ? BENCHES[name] : undefined;
if (!name || !load) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}>\n`);
  process.exit(2);
}
const bench = await load();
const results = await bench.run();
process.stdout.write(`${JSON.stringify({ bench: name, results })}\n`);
process.exit(0);
