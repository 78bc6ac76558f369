import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SubprocessorEntry } from '../../privacy/subprocessors.ts';
import { mediaOrphansCheck } from '../media/media-orphans-check.ts';
import type { MediaService } from '../media/media-service.ts';
import type { RetentionSweeper } from '../retention/retention-sweeper.ts';
import { ciphertextCheck } from './ciphertext-check.ts';
import { egressHostsCheck } from './egress-hosts-check.ts';
import { piiCheck } from './pii-check.ts';
import { registryCheck } from './registry-check.ts';
import { replaySecretsCheck } from './replay-secrets-check.ts';
import { retentionCheck } from './retention-check.ts';
import { rlsCheck } from './rls-check.ts';
import type { CheckResult } from './verify-types.ts';

export type VerifyReport = { ok: boolean; checked_at: string; checks: CheckResult[] };

/** Runs every check on the system connection (it reads across tenants) and collects the violations. */
export async function runVerify(deps: {
  db: Kysely<Database>;
  clock: Clock;
  sweeper: RetentionSweeper;
  slackMs?: number;
  /** The sub-processor list this deployment publishes: the egress check compares the ledger's hosts with it. */
  subprocessors?: readonly SubprocessorEntry[];
  /** The media store and its rows: the media check reports orphans both ways. */
  media?: Pick<MediaService, 'orphans'>;
}): Promise<VerifyReport> {
  const now = deps.clock.now();
  const checks = [
    retentionCheck(deps.sweeper, deps.slackMs),
    piiCheck,
    ciphertextCheck,
    replaySecretsCheck,
    rlsCheck,
    registryCheck,
    ...(deps.subprocessors ? [egressHostsCheck(deps.subprocessors)] : []),
    ...(deps.media ? [mediaOrphansCheck(deps.media)] : []),
  ];
  const results: CheckResult[] = [];
  for (const check of checks) {
    const violations = await check.run({ db: deps.db, now });
    results.push({
      name: check.name,
      description: check.description,
      ok: violations.length === 0,
      violations,
    });
  }
  return { ok: results.every((r) => r.ok), checked_at: now.toISOString(), checks: results };
}
