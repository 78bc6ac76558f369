import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the Layers ingest endpoint (API.md, "SDK ingest") as a real HTTP server on 127.0.0.1:
 * bearer `lyr_pk_` keys, the 500 KB batch / 32 KB event limits with 413, dedup by event_id, 200
 * `{accepted, duplicates, rejected}`. It can be told to fail (503, 429 + Retry-After), to hang, to
 * commit and then drop the connection, or to go down and come back on the same port. It records
 * every raw request body, so tests can inspect exactly what went over the wire.
 */

export const MAX_BATCH_BYTES = 512_000;
export const MAX_EVENT_BYTES = 32_768;

export interface RecordedRequest {
  authorization: string | undefined;
  rawBody: string;
  bytes: number;
  status: number;
  eventIds: string[];
}

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Behaviour =
  | { kind: 'normal' }
  /** Every request answers this (e.g. a persistent 503). */
  | { kind: 'fail'; response: ScriptedResponse }
  /** Requests are read but never answered (until the server stops). */
  | { kind: 'hang' }
  /** Events are committed, then the connection is destroyed before any answer. */
  | { kind: 'commit-then-drop' }
  /** Events are committed, then the answer never comes (a slow server, a page leaving). */
  | { kind: 'commit-then-hang' };

type StaticFile = { contentType: string; body: string | Buffer };

export class FakeIngestServer {
  readonly requests: RecordedRequest[] = [];
  /** Accepted events by event_id: the "database". */
  readonly events = new Map<string, Record<string, unknown>>();
  duplicates = 0;
  /** How often an event id was received at all, accepted or duplicate. */
  readonly receipts = new Map<string, number>();
  /** Limit violations seen (should stay empty: the SDK must never send what we refuse). */
  readonly violations: string[] = [];
  /** Per-event rejection messages sent back (tests expect none unless they provoke one). */
  readonly rejections: string[] = [];
  /** One-shot answers, used before the behaviour. */
  readonly script: ScriptedResponse[] = [];
  behaviour: Behaviour = { kind: 'normal' };
  /** Event names the server rejects per event in a 200 answer. */
  rejectEventNames = new Set<string>(['reject_me']);
  /** GET routes (the browser test serves its page and the built SDK from here: same origin). */
  readonly files = new Map<string, StaticFile>();

  private server: Server | undefined;
  private port = 0;
  private readonly hanging = new Set<ServerResponse>();
  private waiters: Array<() => void> = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get acceptedIds(): string[] {
    return [...this.events.keys()];
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  /** Goes down hard: open connections are cut, new ones refused until `start()` (same port). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.hanging) res.socket?.destroy();
    this.hanging.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Resolves once `predicate` holds, re-checked after each request (real time, bounded). */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET') {
      const file = this.files.get(url.pathname);
      if (!file)
        return send(res, 404, { error: { type: 'not_found_error', code: 'not_found', message: 'nope' } });
      res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-store' });
      res.end(file.body);
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/sdk/events') {
      return send(res, 404, {
        error: { type: 'not_found_error', code: 'not_found', message: 'no such route' },
      });
    }
    const record: RecordedRequest = {
      authorization: req.headers.authorization,
      rawBody: body.toString('utf8'),
      bytes: body.length,
      status: 0,
      eventIds: [],
    };
    this.requests.push(record);
    try {
      const { status, headers, payload, drop } = this.answer(record, body);
      record.status = status;
      if (drop) {
        req.socket.destroy();
        return;
      }
      if (status === 0) {
        this.hanging.add(res);
        return;
      }
      send(res, status, payload, headers);
    } finally {
      this.notify();
    }
  }

  private answer(
    record: RecordedRequest,
    body: Buffer,
  ): { status: number; headers?: Record<string, string>; payload?: unknown; drop?: boolean } {
    const auth = record.authorization ?? '';
    if (!auth.startsWith('Bearer ')) return error(401, 'authentication_error', 'missing_key');
    const key = auth.slice('Bearer '.length);
    if (key.startsWith('lyr_sk_')) return error(403, 'permission_error', 'key_type_not_allowed');
    if (!/^lyr_pk_[0-9A-Za-z]{10,}$/.test(key)) return error(401, 'authentication_error', 'invalid_key');
    if (key.includes('REVOKED')) return error(401, 'authentication_error', 'key_revoked');

    if (body.length > MAX_BATCH_BYTES) {
      this.violations.push(`batch of ${body.length} bytes`);
      return error(413, 'invalid_request_error', 'batch_too_large');
    }
    let batch: unknown;
    try {
      batch = (JSON.parse(body.toString('utf8')) as { batch?: unknown }).batch;
    } catch {
      return error(400, 'invalid_request_error', 'invalid_json');
    }
    if (!Array.isArray(batch) || batch.length === 0 || batch.length > 1_000) {
      return error(400, 'invalid_request_error', 'batch_must_hold_1_to_1000_events');
    }
    for (const event of batch) {
      const bytes = Buffer.byteLength(JSON.stringify(event));
      if (bytes > MAX_EVENT_BYTES) {
        this.violations.push(`event of ${bytes} bytes`);
        return error(413, 'invalid_request_error', 'event_too_large');
      }
    }
    record.eventIds = batch.map((event) => String((event as { event_id?: unknown }).event_id));

    const scripted = this.script.shift();
    if (scripted)
      return { status: scripted.status, headers: scripted.headers ?? {}, payload: scripted.body ?? {} };
    const behaviour = this.behaviour;
    if (behaviour.kind === 'fail') {
      return {
        status: behaviour.response.status,
        headers: behaviour.response.headers ?? {},
        payload: behaviour.response.body ?? {},
      };
    }
    if (behaviour.kind === 'hang') return { status: 0 };

    let accepted = 0;
    let duplicates = 0;
    const rejected: Array<{ index: number; code: string; message: string }> = [];
    batch.forEach((raw, index) => {
      const event = raw as Record<string, unknown>;
      const problem = validateEvent(event, this.rejectEventNames);
      if (problem) {
        rejected.push({ index, code: 'invalid_event', message: problem });
        this.rejections.push(problem);
        return;
      }
      const id = event.event_id as string;
      this.receipts.set(id, (this.receipts.get(id) ?? 0) + 1);
      if (this.events.has(id)) {
        duplicates++;
        return;
      }
      this.events.set(id, event);
      accepted++;
    });
    this.duplicates += duplicates;
    if (behaviour.kind === 'commit-then-drop') return { status: 200, drop: true };
    if (behaviour.kind === 'commit-then-hang') return { status: 0 };
    return { status: 200, payload: { accepted, duplicates, rejected } };
  }
}

const TOP_LEVEL = new Set([
  'event_id',
  'type',
  'event',
  'user_id',
  'anonymous_id',
  'timestamp',
  'app_id',
  'properties',
  'traits',
  'context',
]);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The contract's per-event rules (API.md + the server's validator), as per-event rejections. */
function validateEvent(event: Record<string, unknown>, rejectNames: Set<string>): string | undefined {
  for (const key of Object.keys(event))
    if (!TOP_LEVEL.has(key)) return `${key} is not a field of an SDK event`;
  if (typeof event.event_id !== 'string' || event.event_id === '') return 'event_id is required';
  if (event.type !== 'track' && event.type !== 'identify') return 'type must be track or identify';
  if (event.type === 'track' && (typeof event.event !== 'string' || event.event === ''))
    return 'event is required';
  const hasId = (v: unknown) => typeof v === 'string' && v !== '';
  if (!hasId(event.user_id) && !hasId(event.anonymous_id)) return 'user_id or anonymous_id is required';
  if (event.user_id !== undefined && !hasId(event.user_id)) return 'user_id must be a non-empty string';
  if (event.anonymous_id !== undefined && !hasId(event.anonymous_id))
    return 'anonymous_id must be a non-empty string';
  if (typeof event.timestamp !== 'string' || !ISO_UTC.test(event.timestamp)) return 'bad timestamp';
  if (typeof event.app_id !== 'string') return 'app_id is required';
  const context = event.context as { ip?: unknown; device?: Record<string, unknown> } | undefined;
  if (context !== undefined) {
    for (const key of Object.keys(context))
      if (key !== 'ip' && key !== 'device') return `context.${key} unknown`;
    for (const [key, id] of Object.entries(context.device ?? {})) {
      // The server's context.device: the ids (UUIDs) and the tracking flag (a boolean).
      if (key === 'ad_tracking_enabled') {
        if (typeof id !== 'boolean') return 'bad ad_tracking_enabled';
        continue;
      }
      if ((key !== 'idfa' && key !== 'gaid') || typeof id !== 'string' || !UUID.test(id))
        return 'bad device id';
    }
  }
  const traits = (event.traits ?? {}) as Record<string, unknown>;
  // The SDK must never send these: the real server would hash them, but they would have left the device.
  if ('email' in traits || 'phone' in traits) return 'plaintext identifier on the wire';
  if (typeof event.event === 'string' && rejectNames.has(event.event)) return 'rejected by test';
  return undefined;
}

function error(status: number, type: string, code: string) {
  return {
    status,
    payload: { error: { type, code, message: code.replaceAll('_', ' '), request_id: 'req_fake' } },
  };
}

function send(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake', ...headers });
  res.end(JSON.stringify(payload ?? {}));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
