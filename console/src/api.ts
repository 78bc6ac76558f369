// biome-ignore-all lint/suspicious/noExplicitAny: the screens render JSON answers of the API as they come
/**
 * The console's one way to the server: same-origin fetch with the session cookie, the CSRF token on
 * every state change (kept in memory only, never in storage), and errors turned into sentences.
 */
let csrf = '';
export const setCsrf = (token: string) => {
  csrf = token;
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

let onSignedOut: (message: string) => void = () => undefined;
export const whenSignedOut = (fn: (message: string) => void) => {
  onSignedOut = fn;
};

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const e = json.error ?? {};
    const err = new ApiError(
      res.status,
      e.code ?? 'error',
      e.message ?? `The request failed (${res.status}).`,
      e.param,
    );
    if (err.code === 'not_signed_in') onSignedOut(err.message);
    throw err;
  }
  return json as T;
}
