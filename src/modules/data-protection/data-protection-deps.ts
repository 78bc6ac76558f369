import type { Config } from '../../config.ts';
import { type PageInput, pageInputFor } from '../../privacy/data-protection-page.ts';
import { storeDeclarations } from '../../privacy/residency.ts';
import { loadSubprocessors, type SubprocessorEntry } from '../../privacy/subprocessors.ts';

/** What the page and the sub-processor route need, read once from configuration at start-up. */
export function createDataProtectionPageDeps(config: Config): {
  page: PageInput;
  subprocessors: readonly SubprocessorEntry[];
} {
  const subprocessors = loadSubprocessors(config.subprocessorsFile);
  return { page: pageInputFor(config, storeDeclarations(config), subprocessors), subprocessors };
}
