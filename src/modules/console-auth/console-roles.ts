/**
 * Console roles, from most to least power. `owner`: everything (at least one per org);
 * `admin`: all but owners (cannot make, change or remove an owner); `developer`: projects, API keys,
 * webhooks (and later destinations), no members; `viewer`: reads only, never a secret.
 */
export const CONSOLE_ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

const RANK: Record<ConsoleRole, number> = { viewer: 0, developer: 1, admin: 2, owner: 3 };

export function roleAtLeast(role: ConsoleRole, needed: ConsoleRole): boolean {
  return RANK[role] >= RANK[needed];
}

export function isConsoleRole(value: unknown): value is ConsoleRole {
  return typeof value === 'string' && (CONSOLE_ROLES as readonly string[]).includes(value);
}

/** The sentence a refused representative reads: what their role allows and who can help. */
export function roleRefusal(role: ConsoleRole, needed: ConsoleRole): string {
  const can =
    role === 'viewer'
      ? 'can look at everything but change nothing'
      : role === 'developer'
        ? 'can manage projects, API keys and webhooks, not members or privacy requests'
        : 'can do everything except manage owners';
  return `Your role (${role}) ${can}. This needs the ${needed} role: ask an owner or admin of your organisation.`;
}
