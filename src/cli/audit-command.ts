import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { type ParsedArgs, requiredFlag, UsageError } from './args.ts';
import { EXIT, type Output } from './output.ts';
import { openRuntime } from './runtime.ts';

export const AUDIT_USAGE = 'layers audit verify --org <org_id>';

/** `layers audit verify --org <id>`: recomputes the org's audit hash chain; exit 3 names the first break. */
export async function auditCommand(
  config: Config,
  logger: Logger,
  args: ParsedArgs,
  out: Output,
): Promise<number> {
  if (args.positionals[1] !== 'verify') throw new UsageError(AUDIT_USAGE);
  const orgId = requiredFlag(args, 'org');
  const { db, container } = await openRuntime(config, logger);
  try {
    await container.orgs.get(orgId);
    const result = await container.auditLog.verifyChain(db.system, orgId);
    if (result.ok) {
      out.result(`Audit chain of ${orgId} is intact: ${result.entries} entries verified.`, {
        org_id: orgId,
        ...result,
      });
      return EXIT.ok;
    }
    const { broken } = result;
    out.result(
      `Audit chain of ${orgId} is BROKEN at entry ${broken.id} (seq ${broken.seq}): ${broken.reason}.\n` +
        `${result.entries} entries before it verified.`,
      { org_id: orgId, ...result },
    );
    return EXIT.verificationFailed;
  } finally {
    await container.stop();
    await db.shutdown();
  }
}
