import type { Config } from '../config.ts';
import { createDataProtectionPageDeps } from '../modules/data-protection/data-protection-deps.ts';
import { buildDataProtectionPage } from '../privacy/data-protection-page.ts';
import { toMarkdown } from '../privacy/page-document.ts';
import { type ParsedArgs, UsageError } from './args.ts';
import { EXIT } from './output.ts';

export const DOCS_USAGE = 'layers docs data-protection [--json]';

/**
 * `layers docs data-protection`: the data-protection page as Markdown, from the same builder and
 * inputs as GET /data-protection. Needs no database: the values come from the registry and config.
 * Markdown goes to stdout even when piped (`> page.md`); `--json` wraps it for programs.
 */
export function docsCommand(config: Config, args: ParsedArgs): number {
  if (args.positionals[1] !== 'data-protection') throw new UsageError(DOCS_USAGE);
  const markdown = toMarkdown(buildDataProtectionPage(createDataProtectionPageDeps(config).page));
  process.stdout.write(
    args.flags.has('json')
      ? `${JSON.stringify({ page: 'data-protection', format: 'markdown', markdown })}\n`
      : markdown,
  );
  return EXIT.ok;
}
