import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of Meta's Conversions API for app events (developers.facebook.com/documentation/ads-commerce/
 * conversions-api: "Using the API", "App events", "Customer information parameters"), on 127.0.0.1.
 * `POST /v{N}.0/{dataset_id}/events?access_token=…` with JSON `{data, test_event_code?, partner_agent?}`.
 *
 * It checks every event as Meta documents it, and like Meta refuses the WHOLE request (HTTP 400,
 * Graph error code 100 with a subcode) when any one event is invalid or older than 7 days:
 * - ≤ 1,000 events; `event_name`, `event_id` strings; `event_time` whole Unix seconds, not older than
 *   7 days (subcode 2804003) nor in the future by more than an hour;
 * - `action_source: "app"`; `app_data.advertiser_tracking_enabled` 0/1 and a 16-slot `extinfo` of
 *   strings, slot 0 `i2`/`a2`, slot 4 (OS version) non-empty;
 * - `user_data.em` / `ph` / `external_id` / `country`: 64 lower-case hex (SHA-256), never raw (2804016);
 *   `madid` unhashed (a UUID), and at least one strong identifier (2804050);
 * - a wrong `access_token` answers 401 with code 190 (OAuthException).
 * Accepted events are kept (`events`, with the dataset and test code); `failNext` makes it fail the
 * way Meta fails transiently (500, or code 4/17 throttling).
 */
export type MetaReceived = {
  dataset: string;
  testEventCode: string | undefined;
  event: Record<string, unknown>;
};

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function metaEventProblem(e: unknown, nowS: number): { subcode: number; why: string } | null {
  if (typeof e !== 'object' || e === null) return { subcode: 2804001, why: 'event is not an object' };
  const ev = e as Record<string, unknown>;
  if (typeof ev.event_name !== 'string' || ev.event_name === '')
    return { subcode: 2804001, why: 'event_name' };
  if (typeof ev.event_id !== 'string' || ev.event_id === '') return { subcode: 2804001, why: 'event_id' };
  if (typeof ev.event_time !== 'number' || !Number.isInteger(ev.event_time) || ev.event_time > 1e10)
    return { subcode: 2804001, why: 'event_time must be whole seconds' };
  if (nowS - ev.event_time > 7 * 86400) return { subcode: 2804003, why: 'Event Timestamp Too Old' };
  if (ev.event_time - nowS > 3600) return { subcode: 2804004, why: 'event_time in the future' };
  if (ev.action_source !== 'app') return { subcode: 2804001, why: 'action_source must be app' };
  const app = ev.app_data as Record<string, unknown> | undefined;
  if (!app || (app.advertiser_tracking_enabled !== 0 && app.advertiser_tracking_enabled !== 1))
    return { subcode: 2804001, why: 'app_data.advertiser_tracking_enabled' };
  const ext = app.extinfo;
  if (!Array.isArray(ext) || ext.length !== 16 || ext.some((s) => typeof s !== 'string'))
    return { subcode: 2804001, why: 'extinfo must be 16 strings' };
  if (ext[0] !== 'i2' && ext[0] !== 'a2') return { subcode: 2804001, why: 'extinfo[0]' };
  if (ext[4] === '') return { subcode: 2804001, why: 'extinfo[4] (OS version) is required' };
  const user = ev.user_data as Record<string, unknown> | undefined;
  if (!user || typeof user !== 'object') return { subcode: 2804050, why: 'user_data' };
  for (const k of ['em', 'ph', 'external_id', 'country']) {
    const v = user[k];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || list.some((h) => typeof h !== 'string' || !HEX64.test(h)))
      return { subcode: 2804016, why: `${k} is not hashed` };
  }
  if (user.madid !== undefined && (typeof user.madid !== 'string' || !UUID.test(user.madid)))
    return { subcode: 2804001, why: 'madid must be the raw advertising id' };
  if (!user.em && !user.ph && !user.external_id && !user.madid)
    return { subcode: 2804050, why: 'no customer information parameters' };
  return null;
}

export type MetaFake = {
  url: string;
  /** Accepted events, in arrival order. */
  events: MetaReceived[];
  requests(): number;
  /** Events accepted so far (kept or not). */
  accepted(): number;
  /** When the last event was accepted (ms since the epoch), or 0. */
  lastAcceptedAt(): number;
  /** Requests received and not answered yet (their answer is delayed, see `delayMs`). */
  inFlight(): number;
  /** Whole requests refused (400), with the reason of the first bad event. */
  refused: { subcode: number; why: string; size: number }[];
  /** The next `times` requests fail like this before any check. */
  failNext(times: number, answer: { status: number; body: unknown }): void;
  setToken(token: string): void;
  close(): Promise<void>;
};

export async function startMetaCapiFake(opts: {
  token: string;
  now?: () => number;
  /** Answer each request this long after it arrived (to let a test kill a worker mid-request). */
  delayMs?: () => number;
  /** false: count accepted events (`accepted()`) without keeping them (benchmarks). */
  keep?: boolean;
}): Promise<MetaFake> {
  let token = opts.token;
  const now = opts.now ?? (() => Date.now());
  const events: MetaReceived[] = [];
  const refused: MetaFake['refused'] = [];
  const failures: { status: number; body: unknown }[] = [];
  let requests = 0;
  let inFlight = 0;
  let accepted = 0;
  let lastAcceptedAt = 0;
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    inFlight++;
    const reply = () => {
      inFlight--;
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const delay = opts.delayMs?.() ?? 0;
    if (delay > 0) setTimeout(reply, delay).unref();
    else reply();
  };
  const graphError = (code: number, subcode: number | undefined, message: string) => ({
    error: {
      message,
      type: 'OAuthException',
      code,
      ...(subcode ? { error_subcode: subcode } : {}),
      fbtrace_id: 'Afake',
    },
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const failure = failures.shift();
      if (failure) return send(res, failure.status, failure.body);
      const url = new URL(req.url ?? '/', 'http://fake');
      const m = /^\/v\d+\.0\/([0-9A-Za-z_-]+)\/events$/.exec(url.pathname);
      if (req.method !== 'POST' || !m) return send(res, 400, graphError(100, 33, 'Unsupported request'));
      if (url.searchParams.get('access_token') !== token)
        return send(res, 401, graphError(190, 460, 'Invalid OAuth access token'));
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, graphError(100, undefined, 'Invalid JSON'));
      }
      const data = body.data;
      if (!Array.isArray(data) || data.length === 0 || data.length > 1000)
        return send(res, 400, graphError(100, 2804001, 'data must hold 1–1,000 events'));
      if (body.test_event_code !== undefined && typeof body.test_event_code !== 'string')
        return send(res, 400, graphError(100, undefined, 'test_event_code'));
      const nowS = Math.floor(now() / 1000);
      for (const e of data) {
        const problem = metaEventProblem(e, nowS);
        if (problem) {
          // One invalid event rejects the entire batch: nothing is processed.
          refused.push({ ...problem, size: data.length });
          return send(res, 400, {
            error: {
              ...graphError(100, problem.subcode, 'Invalid parameter').error,
              error_user_msg: problem.why,
            },
          });
        }
      }
      accepted += data.length;
      lastAcceptedAt = Date.now();
      if (opts.keep !== false)
        for (const event of data)
          events.push({
            dataset: m[1] as string,
            testEventCode: body.test_event_code as string | undefined,
            event: event as Record<string, unknown>,
          });
      send(res, 200, { events_received: data.length, messages: [], fbtrace_id: 'Afake' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    requests: () => requests,
    accepted: () => accepted,
    lastAcceptedAt: () => lastAcceptedAt,
    inFlight: () => inFlight,
    refused,
    failNext(times, answer) {
      for (let i = 0; i < times; i++) failures.push(answer);
    },
    setToken(t) {
      token = t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
