import type { Config } from '../../config.ts';
import type { Databases } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import { createConsoleAccountService } from './console-account-service.ts';
import { createConsoleAuthDal } from './console-auth-dal.ts';
import { createConsoleMembersService } from './console-members-service.ts';
import { createConsoleSessionAuth } from './console-session-auth.ts';
import { createConsoleSignInService, type ThrottleLimits } from './console-sign-in-service.ts';

/** Wires the console-auth module (one function, so container.ts stays a list of modules). */
export function createConsoleAuth(deps: {
  config: Config;
  dbs: Databases;
  envelope: Envelope;
  auditLog: AuditLogService;
  clock: Clock;
  throttle?: ThrottleLimits;
}) {
  const { config, dbs, envelope, auditLog, clock } = deps;
  const dal = createConsoleAuthDal();
  const signIn = createConsoleSignInService({
    dal,
    appDb: dbs.app,
    systemDb: dbs.system,
    envelope,
    auditLog,
    clock,
    ...(deps.throttle ? { throttle: deps.throttle } : {}),
  });
  const accounts = createConsoleAccountService({ dal, envelope, auditLog, signIn });
  // LAYERS_PUBLIC_URL when configured (read loosely: the field arrives with the social-accounts work).
  const publicUrl = (config as { publicUrl?: string }).publicUrl;
  const members = createConsoleMembersService({
    dal,
    appDb: dbs.app,
    envelope,
    auditLog,
    clock,
    baseUrl: () => (publicUrl ? publicUrl.replace(/\/+$/, '') : `http://localhost:${config.port}`),
  });
  const sessions = createConsoleSessionAuth({ signIn, production: config.env === 'production' });
  /** The org's audit hash chain, recomputed (the audit screen shows whether it holds). */
  const auditChain = (orgId: string) => auditLog.verifyChain(dbs.system, orgId);
  return { dal, signIn, accounts, members, sessions, auditChain };
}

export type ConsoleAuth = ReturnType<typeof createConsoleAuth>;
