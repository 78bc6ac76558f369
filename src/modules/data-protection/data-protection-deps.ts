import type { Config } from '../../config.ts';
import { type PageInput, pageInputFor } from '../../privacy/data-protection-page.ts';
import { storeDeclarations } from '../../privacy/residency.ts';
import { loadSubprocessors, type SubprocessorEntry } from '../../privacy/subprocessors.ts';
import { llmRetentionModes } from '../generation/retention-modes.ts';

/** What the page and the sub-processor route need, read once from configuration at start-up. */
export function createDataProtectionPageDeps(config: Config): {
  page: PageInput;
  subprocessors: readonly SubprocessorEntry[];
} {
  const subprocessors = loadSubprocessors(config.subprocessorsFile);
  // The content-generation providers whose vendor this deployment's sub-processor list names (and the offline one).
  const vendorIds: Record<string, string> = {
    openai: 'openai',
    anthropic: 'anthropic',
    vertex: 'google_vertex',
  };
  const llmRetention = llmRetentionModes(config)
    .filter((r) => r.provider === 'default' || subprocessors.some((s) => s.id === vendorIds[r.provider]))
    .map((r) => ({
      ...r,
      vendor: subprocessors.find((s) => s.id === vendorIds[r.provider])?.name ?? r.vendor,
    }));
  const page = { ...pageInputFor(config, storeDeclarations(config), subprocessors), llmRetention };
  return { page, subprocessors };
}
