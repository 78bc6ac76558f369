import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { toOrgResponse } from '../modules/orgs/orgs-service.ts';
import { type ParsedArgs, requiredFlag, stringFlag, UsageError } from './args.ts';
import { bold, EXIT, type Output } from './output.ts';
import { openRuntime } from './runtime.ts';

export const ORG_USAGE = `layers org create --name <name> [--tier standard|partner]
layers org list
layers org show <org_id>
layers org offboard <org_id>`;

/** `layers org …`: works whether or not a server is running on the same data dir. */
export async function orgCommand(
  config: Config,
  logger: Logger,
  args: ParsedArgs,
  out: Output,
): Promise<number> {
  const [, sub, id] = args.positionals;
  if (!sub || !['create', 'list', 'show', 'offboard'].includes(sub)) throw new UsageError(ORG_USAGE);
  // Arguments are checked before anything touches the database.
  const create = sub === 'create' ? createInput(args) : undefined;
  if ((sub === 'show' || sub === 'offboard') && !id) throw new UsageError(`layers org ${sub} <org_id>`);
  const { db, container } = await openRuntime(config, logger);
  try {
    switch (sub) {
      case 'create': {
        const { org, apiKey } = await container.orgs.create(
          create as { name: string; tier: 'standard' | 'partner' },
        );
        out.result(
          `Created ${bold(org.name)} (${org.id}, ${org.tier}).\n\nSecret API key (shown once; store it now):\n  ${apiKey.secret}`,
          { ...toOrgResponse(org), api_key: apiKey },
        );
        return EXIT.ok;
      }
      case 'list': {
        const rows = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await container.orgs.list({
            limit: 100,
            ...(cursor ? { starting_after: cursor } : {}),
          });
          rows.push(...page.rows);
          if (!page.has_more) break;
          cursor = page.rows.at(-1)?.id;
        }
        out.result(
          rows.length === 0
            ? 'No orgs yet. Create one with: layers org create --name <name>'
            : rows.map((o) => `${o.id}  ${o.status.padEnd(10)} ${o.tier.padEnd(8)} ${o.name}`).join('\n'),
          rows.map(toOrgResponse),
        );
        return EXIT.ok;
      }
      case 'show':
      case 'offboard': {
        const org =
          sub === 'show'
            ? await container.orgs.get(id as string)
            : await container.orgs.offboard(id as string);
        out.result(`${org.id}  ${org.name}  tier=${org.tier}  status=${org.status}`, toOrgResponse(org));
        return EXIT.ok;
      }
    }
    return EXIT.usage;
  } finally {
    await container.stop();
    await db.shutdown();
  }
}

function createInput(args: ParsedArgs): { name: string; tier: 'standard' | 'partner' } {
  const name = requiredFlag(args, 'name').trim();
  const tier = stringFlag(args, 'tier') ?? 'standard';
  if (tier !== 'standard' && tier !== 'partner') throw new UsageError('--tier must be standard or partner');
  if (name.length === 0 || name.length > 200) throw new UsageError('--name must be 1–200 characters');
  return { name, tier };
}
