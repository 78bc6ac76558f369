import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { openRuntime } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/http/logging.ts';

/**
 * A platform process (the runtime `layers serve` opens: config from the environment, the migrated
 * database, the envelope key, the wired container) that asks the token manager for one account's
 * credentials from N concurrent callers. No HTTP route asks for a fresh token on demand (only the
 * `social_accounts.sync` and `.refresh` jobs do, one account at a time), so the callers are the
 * token manager's own callers, in a real separate OS process.
 *
 * Usage: node token-caller-process.ts <org_id> <account_id> <callers>
 * stdout: `ready` once the runtime is open; after a `go` line on stdin, one JSON line
 * `{"asked_at": epoch ms, "tokens": [sha256 of each caller's access token], "refresh_tokens": [...], "errors": [...]}`.
 * Hashes only: the tokens themselves never leave the process.
 */
const [orgId, accountId, callers] = process.argv.slice(2);
const sha256 = (s: string | null) => (s === null ? null : createHash('sha256').update(s).digest('hex'));

const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', stream: process.stderr });
const { db, container } = await openRuntime(config, logger);
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
const [line] = (await once(lines, 'line')) as [string];
if (line !== 'go') throw new Error(`expected go, got ${line}`);
const askedAt = Date.now();
const results = await Promise.allSettled(
  Array.from({ length: Number(callers) }, () =>
    container.socialAccounts.tokens.credentials(orgId as string, accountId as string),
  ),
);
const out = {
  asked_at: askedAt,
  tokens: results.flatMap((r) => (r.status === 'fulfilled' ? [sha256(r.value.accessToken)] : [])),
  refresh_tokens: results.flatMap((r) => (r.status === 'fulfilled' ? [sha256(r.value.refreshToken)] : [])),
  errors: results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason?.message ?? r.reason)] : [])),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
lines.close();
await container.stop();
await db.shutdown();
