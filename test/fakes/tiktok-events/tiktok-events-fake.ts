import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of TikTok's Events API 2.0 (`POST /open_api/v1.3/event/track/`, header `Access-Token`) for
 * app events, on 127.0.0.1. Like TikTok it answers HTTP 200 with `code: 0` on success and a non-zero
 * `code` (still 200) on failure: 40105 for a wrong token, 40002 for invalid parameters (the whole
 * request refused), 40100 when told to throttle. It checks: `event_source: "app"`, an
 * `event_source_id`, ≤ 1,000 events, each with `event`, `event_id`, `event_time` in whole seconds,
 * `user.email` / `phone` / `external_id` as 64 lower-case hex (the phone hashed from `+E.164`, which a
 * test checks by value), `idfa` / `gaid` unhashed (UUIDs), `att_status` from TikTok's list, and at
 * least one identifier.
 */
export type TikTokReceived = {
  eventSourceId: string;
  testEventCode: string | undefined;
  event: Record<string, unknown>;
};

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const ATT = new Set(['AUTHORIZED', 'DENIED', 'NOT_DETERMINED', 'RESTRICTED', 'NOT_APPLICABLE']);

export function tiktokEventProblem(e: unknown): string | null {
  if (typeof e !== 'object' || e === null) return 'event is not an object';
  const ev = e as Record<string, unknown>;
  if (typeof ev.event !== 'string' || ev.event === '') return 'event';
  if (typeof ev.event_id !== 'string' || ev.event_id === '') return 'event_id';
  if (typeof ev.event_time !== 'number' || !Number.isInteger(ev.event_time) || ev.event_time > 1e10)
    return 'event_time must be whole seconds';
  const user = ev.user as Record<string, unknown> | undefined;
  if (!user || typeof user !== 'object') return 'user';
  for (const k of ['email', 'phone', 'external_id']) {
    const v = user[k];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    if (list.some((h) => typeof h !== 'string' || !HEX64.test(h))) return `user.${k} must be SHA-256 hex`;
  }
  for (const k of ['idfa', 'gaid'])
    if (user[k] !== undefined && (typeof user[k] !== 'string' || !UUID.test(user[k] as string)))
      return `user.${k} must be the raw advertising id`;
  if (user.att_status !== undefined && !ATT.has(user.att_status as string)) return 'user.att_status';
  if (!user.email && !user.phone && !user.external_id && !user.idfa && !user.gaid)
    return 'no user identifier';
  if (ev.app !== undefined && typeof (ev.app as { app_id?: unknown }).app_id !== 'string')
    return 'app.app_id';
  return null;
}

export type TikTokFake = {
  url: string;
  events: TikTokReceived[];
  requests(): number;
  refused: { why: string; size: number }[];
  failNext(times: number, answer: { status: number; body: unknown }): void;
  close(): Promise<void>;
};

export async function startTikTokEventsFake(opts: { token: string }): Promise<TikTokFake> {
  const events: TikTokReceived[] = [];
  const refused: TikTokFake['refused'] = [];
  const failures: { status: number; body: unknown }[] = [];
  let requests = 0;
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ request_id: 'fake', ...(body as object) }));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const failure = failures.shift();
      if (failure) return send(res, failure.status, failure.body);
      if (req.method !== 'POST' || req.url !== '/open_api/v1.3/event/track/')
        return send(res, 404, { code: 40400, message: 'not found' });
      if (req.headers['access-token'] !== opts.token)
        return send(res, 200, { code: 40105, message: 'The access token is invalid' });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 200, { code: 40002, message: 'invalid JSON' });
      }
      if (body.event_source !== 'app') return send(res, 200, { code: 40002, message: 'event_source' });
      if (typeof body.event_source_id !== 'string' || body.event_source_id === '')
        return send(res, 200, { code: 40002, message: 'event_source_id' });
      const data = body.data;
      if (!Array.isArray(data) || data.length === 0 || data.length > 1000)
        return send(res, 200, { code: 40002, message: 'data must hold 1–1,000 events' });
      for (const e of data) {
        const why = tiktokEventProblem(e);
        if (why) {
          refused.push({ why, size: data.length });
          return send(res, 200, { code: 40002, message: why });
        }
      }
      for (const event of data)
        events.push({
          eventSourceId: body.event_source_id,
          testEventCode: body.test_event_code as string | undefined,
          event: event as Record<string, unknown>,
        });
      send(res, 200, { code: 0, message: 'OK', data: {} });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    requests: () => requests,
    refused,
    failNext(times, answer) {
      for (let i = 0; i < times; i++) failures.push(answer);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
