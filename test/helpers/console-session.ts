import type { LightMyRequestResponse } from 'fastify';
import type { AppInstance } from '../../src/http/app-types.ts';
import type { TestApp } from './test-app.ts';

/** A console session as a browser holds it: the cookie and the CSRF token the page was given. */
export type ConsoleClient = { cookie: string; csrf: string; accountId: string };

export const STRONG_PASSWORD = 'plum orbit lantern 42 quietly';

export function sessionCookieOf(res: LightMyRequestResponse): string {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const found = list.find((c) => c.startsWith('layers_session=') || c.startsWith('__Host-layers_session='));
  if (!found) throw new Error(`no session cookie in ${res.statusCode} ${res.body}`);
  return found.split(';')[0] as string;
}

export async function inviteToken(
  t: TestApp,
  orgId: string,
  email: string,
  role: 'owner' | 'admin' | 'developer' | 'viewer',
) {
  const inv = await t.container.consoleAuth.members.inviteAsOperator(orgId, { email, role });
  return inv.url.split('/invitation/')[1] as string;
}

export async function signUp(
  app: AppInstance,
  token: string,
  password = STRONG_PASSWORD,
): Promise<ConsoleClient> {
  const res = await app.inject({ method: 'POST', url: '/console/api/sign-up', payload: { token, password } });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  return { cookie: sessionCookieOf(res), csrf: res.json().csrf_token, accountId: res.json().account.id };
}

export async function member(
  t: TestApp,
  orgId: string,
  email: string,
  role: 'owner' | 'admin' | 'developer' | 'viewer',
) {
  return signUp(t.app, await inviteToken(t, orgId, email, role));
}

/** A console call: the cookie always, the CSRF token on state changes (unless `csrf: false`). */
export function consoleCall(
  app: AppInstance,
  c: ConsoleClient,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
  opts: { csrf?: boolean } = {},
) {
  const headers: Record<string, string> = { cookie: c.cookie };
  if (method !== 'GET' && opts.csrf !== false) headers['x-csrf-token'] = c.csrf;
  return app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}
