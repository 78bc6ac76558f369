import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { isConsoleRole } from '../modules/console-auth/console-roles.ts';
import { type ParsedArgs, requiredFlag, stringFlag, UsageError } from './args.ts';
import { bold, EXIT, type Output } from './output.ts';
import { openRuntime } from './runtime.ts';

export const USER_USAGE =
  'layers user invite --org <org_id> --email <email> [--role owner|admin|developer|viewer]';

/**
 * `layers user invite`: a one-time console invitation link (24 h) for a partner representative,
 * usually an org's first owner. The link carries the token in its fragment; it is printed once and
 * stored only as SHA-256. The email is never logged.
 */
export async function userCommand(
  config: Config,
  logger: Logger,
  args: ParsedArgs,
  out: Output,
): Promise<number> {
  const [, sub] = args.positionals;
  if (sub !== 'invite') throw new UsageError(USER_USAGE);
  const orgId = requiredFlag(args, 'org').trim();
  const email = requiredFlag(args, 'email').trim();
  const role = stringFlag(args, 'role') ?? 'owner';
  if (!isConsoleRole(role)) throw new UsageError('--role must be owner, admin, developer or viewer');
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new UsageError('--email must be an email address');
  const { db, container } = await openRuntime(config, logger);
  try {
    const invitation = await container.consoleAuth.members.inviteAsOperator(orgId, { email, role });
    out.result(
      `Invited ${bold(email)} as ${role} (${invitation.id}, valid until ${invitation.expires_at}).\n\nOne-time link (send it to them; it works once):\n  ${invitation.url}`,
      invitation,
    );
    return EXIT.ok;
  } finally {
    await container.stop();
    await db.shutdown();
  }
}
