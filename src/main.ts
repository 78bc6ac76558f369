import { parseArgs, UsageError } from './cli/args.ts';
import { AUDIT_USAGE, auditCommand } from './cli/audit-command.ts';
import { DOCS_USAGE, docsCommand } from './cli/docs-command.ts';
import { KEYS_USAGE, keysCommand } from './cli/keys-command.ts';
import { ORG_USAGE, orgCommand } from './cli/org-command.ts';
import { createOutput, EXIT } from './cli/output.ts';
import { serveCommand } from './cli/serve-command.ts';
import { USER_USAGE, userCommand } from './cli/user-command.ts';
import { VERIFY_USAGE, verifyCommand } from './cli/verify-command.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openPlatformDatabase } from './db/open-platform-database.ts';
import { createLogger } from './http/logging.ts';
import { AppError } from './lib/errors.ts';
import { assertResidency } from './privacy/residency.ts';

const USAGE = `Usage: layers <command>

  serve [--role all|api|worker]   run the platform (embedded PostgreSQL unless DATABASE_URL is set)
  worker                          run background jobs only (same as serve --role worker)
  migrate                         apply database migrations and exit
  ${ORG_USAGE.split('\n').join('\n  ')}
  ${USER_USAGE}
  ${AUDIT_USAGE}
  ${VERIFY_USAGE}   check the database against the data-protection promises
  ${DOCS_USAGE}   print the data-protection page (Markdown)
  ${KEYS_USAGE}

Add --json for machine-readable output. Configuration comes from the environment (see README).`;

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const out = createOutput({ json: args.flags.has('json') || !process.stdout.isTTY });
  const command = args.positionals[0];
  try {
    // --role is the process role of serve/worker only (`layers user invite --role` is a console role).
    const role = command === 'worker' ? 'worker' : command === 'serve' ? args.flags.get('role') : undefined;
    const config = loadConfig(typeof role === 'string' ? { ...process.env, LAYERS_ROLE: role } : process.env);
    const isServer = command === 'serve' || command === 'worker';
    // Commands log to stderr so that stdout carries only their result.
    const logger = createLogger({
      level: isServer ? config.logLevel : 'warn',
      ...(isServer ? {} : { stream: process.stderr }),
    });
    switch (command) {
      case 'serve':
      case 'worker':
        await serveCommand(config, logger);
        return -1; // keeps running until a signal
      case 'migrate': {
        assertResidency(config);
        const db = await openPlatformDatabase(config, (msg) => out.info(msg));
        await db.shutdown();
        out.result('Database is migrated to the latest schema.', { migrated: true });
        return EXIT.ok;
      }
      case 'org':
        return await orgCommand(config, logger, args, out);
      case 'user':
        return await userCommand(config, logger, args, out);
      case 'audit':
        return await auditCommand(config, logger, args, out);
      case 'verify':
        return await verifyCommand(config, logger, args, out);
      case 'keys':
        return await keysCommand(config, logger, args, out);
      case 'docs':
        return docsCommand(config, args);
      case undefined:
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command ? EXIT.ok : EXIT.usage;
      default:
        throw new UsageError(`unknown command '${command}'\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(error.message);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      out.error(error.message, 'check the environment variables listed in the README');
      return EXIT.usage;
    }
    if (error instanceof AppError) {
      out.error(error.message);
      return EXIT.failure;
    }
    out.error(error instanceof Error ? error.message : String(error));
    return EXIT.failure;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
