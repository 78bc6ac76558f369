import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { type ParsedArgs, UsageError } from './args.ts';
import { type RotationProgress, type RotationReport, rotateKeys } from './key-rotation.ts';
import { EXIT, type Output } from './output.ts';
import { openRuntime } from './runtime.ts';

export const KEYS_USAGE =
  'keys rotate                     re-wrap every stored secret with the first LAYERS_ENCRYPTION_KEY';

/**
 * `layers keys rotate`: re-wraps every envelope ciphertext in the database (webhook signing secrets,
 * OAuth tokens, connect states, encrypted idempotency responses, console and destination secrets)
 * with the first key of LAYERS_ENCRYPTION_KEY; any key listed after it still decrypts. Progress per
 * column on a TTY; `--json` prints the report. Resumable: run it again after an interruption.
 * Exit 0 when nothing is left on an old key, 3 otherwise (rows busy, or a column it does not know).
 */
export async function keysCommand(config: Config, logger: Logger, args: ParsedArgs, out: Output) {
  if (args.positionals[1] !== 'rotate') throw new UsageError(`usage: layers ${KEYS_USAGE.split('  ')[0]}`);
  const { db, container } = await openRuntime(config, logger);
  const tty = process.stderr.isTTY === true && !out.json;
  const progress = (p: RotationProgress) => {
    if (!tty) return;
    const pct = p.total === 0 ? 100 : Math.floor((p.done / p.total) * 100);
    process.stderr.write(
      `\r${`${p.table}.${p.column}`.padEnd(48)} ${String(p.done).padStart(8)}/${p.total} (${pct}%)`,
    );
    if (p.done >= p.total) process.stderr.write('\n');
  };
  try {
    const report = await rotateKeys(db.system, container.envelope, progress);
    out.result(formatRotation(report), report);
    return report.ok ? EXIT.ok : EXIT.verificationFailed;
  } finally {
    await container.stop();
    await db.shutdown();
  }
}

function formatRotation(r: RotationReport): string {
  const lines = [`Active key ${r.active_key}:`];
  for (const c of r.columns)
    lines.push(
      `  ${`${c.table}.${c.column}`.padEnd(48)} ${c.rewrapped} re-wrapped${c.remaining ? `, ${c.remaining} left (busy: run again)` : ''}`,
    );
  for (const u of r.unknown_columns)
    lines.push(`  ${u}: not known to the rotation (its context is not listed); not re-wrapped`);
  lines.push(
    r.ok
      ? 'Every stored secret is on the active key. The old key can be removed from LAYERS_ENCRYPTION_KEY (after 24 h: revoke retries).'
      : 'Some values are still on an old key: keep it configured and run again.',
  );
  return lines.join('\n');
}
