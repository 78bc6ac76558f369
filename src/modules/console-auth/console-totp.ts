import { generate, generateSecret, generateURI, verify } from 'otplib';

/**
 * TOTP (RFC 6238 through otplib: SHA-1, 6 digits, 30 s, what every authenticator app speaks). A code
 * is accepted for its own 30 s step and the one before (clock skew, and a code typed as it turned
 * over), never ahead; and only once: the step that matched is returned so the caller stores it and
 * refuses that step and every earlier one afterwards (ASVS 6.5.1).
 */
const PERIOD_S = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, label: string): string {
  return generateURI({ issuer: 'Layers', label, secret, period: PERIOD_S });
}

/** The matched time step, or undefined when the code is wrong, stale or already used. */
export async function checkTotp(
  secret: string,
  code: string,
  now: Date,
  lastUsedStep: number | null,
): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: [PERIOD_S, 0],
    period: PERIOD_S,
    ...(lastUsedStep === null ? {} : { afterTimeStep: lastUsedStep }),
  });
  if (!result.valid) return undefined;
  return 'timeStep' in result ? result.timeStep : undefined;
}

/** The code an authenticator shows at `now` (tests and the enrolment check use it). */
export function totpCode(secret: string, now: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(now.getTime() / 1000), period: PERIOD_S });
}
