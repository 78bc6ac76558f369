import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { DEFAULT_SLACK_MS } from '../modules/verify/retention-check.ts';
import { runVerify, type VerifyReport } from '../modules/verify/verify-service.ts';
import { type ParsedArgs, stringFlag, UsageError } from './args.ts';
import { EXIT, type Output } from './output.ts';
import { openRuntime } from './runtime.ts';

export const VERIFY_USAGE = 'layers verify [--slack-hours <n>]';

/**
 * `layers verify`: checks the live database against the data-protection promises (rows past
 * retention, raw PII in events and profiles, secrets that are not ciphertext, tenant tables without
 * forced RLS, tables no data class claims, vendor hosts in the egress ledger that the sub-processor
 * list does not name). Exit 0 when clean, 3 with the list of violations.
 */
export async function verifyCommand(config: Config, logger: Logger, args: ParsedArgs, out: Output) {
  const slackFlag = stringFlag(args, 'slack-hours');
  const slackHours = slackFlag === undefined ? DEFAULT_SLACK_MS / 3_600_000 : Number(slackFlag);
  if (!Number.isFinite(slackHours) || slackHours < 0)
    throw new UsageError('--slack-hours must be a number ≥ 0');
  const { db, container } = await openRuntime(config, logger);
  try {
    const report = await runVerify({
      db: db.system,
      clock: container.clock,
      sweeper: container.retentionSweeper,
      slackMs: slackHours * 3_600_000,
      subprocessors: container.dataProtection.subprocessors,
      media: container.media,
    });
    out.result(formatVerifyReport(report, process.stdout.isTTY === true), report);
    return report.ok ? EXIT.ok : EXIT.verificationFailed;
  } finally {
    await container.stop();
    await db.shutdown();
  }
}

/** The report for people: one line per check, its violations indented, a summary; colour on a TTY. */
export function formatVerifyReport(report: VerifyReport, tty: boolean): string {
  const paint = (code: number, s: string) => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
  const lines = [`layers verify — ${report.checked_at}`, ''];
  for (const check of report.checks) {
    const mark = check.ok ? paint(32, '✓') : paint(31, '✗');
    const summary = check.ok ? '' : ` — ${check.violations.length} violation(s)`;
    lines.push(`${mark} ${check.name.padEnd(11)} ${check.description}${summary}`);
    for (const v of check.violations) lines.push(`    ${v.message}`);
  }
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push(
    '',
    failed === 0
      ? paint(32, `All ${report.checks.length} checks passed.`)
      : paint(31, `${failed} of ${report.checks.length} checks found violations.`),
  );
  return lines.join('\n');
}
