import { readFileSync } from 'node:fs';
import { AppError } from '../../lib/errors.ts';

/**
 * The password policy (ASVS 5.0 V6.2): at least 12 characters (Unicode code points), at most 256, no
 * composition rules, not one of the 10,000 most common passwords (common-passwords.txt, from
 * zxcvbn-ts' `@zxcvbn-ts/language-common` list, MIT), compared case-insensitively, and not built from
 * the account's own context (the email's local part, "layers"). Paste and password managers are
 * welcome; nothing is truncated or case-changed before hashing.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  common ??= new Set(
    readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line.length > 0),
  );
  return common;
}

export function commonPasswordCount(): number {
  return commonPasswords().size;
}

/** Why a password is refused, in words a person can act on; undefined when it is fine. */
export function passwordProblem(password: string, context: { email?: string } = {}): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH)
    return `Use at least ${PASSWORD_MIN_LENGTH} characters (a few unrelated words make a good password).`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower))
    return 'This password is one of the most common passwords; choose another one.';
  const local = context.email?.split('@')[0]?.toLowerCase();
  const stripped = lower.replace(/[^a-z]/g, '');
  if (
    (local && local.length >= 4 && lower.includes(local)) ||
    stripped === 'layers' ||
    stripped === 'layersconsole'
  )
    return 'The password must not be built from your email address or the product name.';
  if (new Set(password).size <= 2) return 'This password repeats one or two characters; choose another one.';
  return undefined;
}

export function assertPasswordAllowed(password: string, context: { email?: string } = {}): void {
  const problem = passwordProblem(password, context);
  if (problem) throw new AppError('parameter_invalid', problem, { param: 'password' });
}
