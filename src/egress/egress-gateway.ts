import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { type Clock, systemClock } from '../lib/clock.ts';
import { isId } from '../lib/ids.ts';
import type { EgressLedgerEntry, EgressLedgerRow } from '../modules/egress-ledger/egress-ledger-dal.ts';
import { type IdentifierKind, refusedFindings, scanCall } from './content-guard.ts';
import {
  type Allowlist,
  type DestinationLookup,
  noEnabledDestinations,
  type RegisteredVendor,
  vendorClaimsHost,
} from './egress-allowlist.ts';
import { attempt, DEFAULT_MAX_RESPONSE_BYTES, ResponseTooLarge } from './egress-attempt.ts';
import { createDeadlines } from './egress-deadlines.ts';
import { EgressError, type EgressErrorCode } from './egress-error.ts';
import type { EgressMetrics } from './egress-metrics.ts';
import {
  attemptsAllowed,
  backoffMs,
  DEFAULT_TIMEOUT_MS,
  isIdempotent,
  MAX_RETRY_AFTER_MS,
  nothingSent,
  parseRetryAfter,
  retryableStatus,
} from './egress-retry.ts';
import {
  EGRESS_DATA_CLASSES,
  EGRESS_PURPOSES,
  type EgressCall,
  type EgressResponse,
  isEgressDataClass,
} from './egress-types.ts';

/**
 * The egress gateway: the one way out to a third party (API.md "Third parties: one egress gateway").
 * In order, before any socket opens:
 * 1. allowlist: the call's vendor must be in the sub-processor registry and name the URL's host and
 *    the call's purpose; a `capi` call must also go to a destination the project enabled
 *    (DestinationLookup, answered by the destinations module; a gateway built without one refuses
 *    every `capi` call);
 * 2. the description: https, no explicit port or credentials in the URL, declared data classes the
 *    purpose may carry, a whole record count;
 * 3. the content guard (content-guard.ts) on the URL and body.
 * A refusal is counted (layers_egress_refusals_total), logged with the vendor, purpose, host and
 * reason only, and thrown as an EgressError; nothing is sent and nothing is recorded in the ledger.
 *
 * Then the call is sent with undici (one shared keep-alive Agent; redirects are never followed, so a
 * 3xx cannot lead past the allowlist: the caller gets it and makes a new call), inside its deadline,
 * retried as egress-retry.ts says, and appended to the egress ledger with its counts: never a body,
 * header value, token, path or query. LAYERS_EGRESS_REDIRECT (development and tests) sends a host to
 * a local fake after every check ran on the real host; the ledger records the real host.
 */
export type EgressGatewayDeps = {
  allowlist: Allowlist;
  destinations?: DestinationLookup;
  redirects?: ReadonlyMap<string, string>;
  /** The ledger writer; it makes each row's time-ordered id. */
  ledger: EgressLedgerSink;
  metrics: EgressMetrics;
  logger?: Pick<Logger, 'warn'>;
  clock?: Clock;
  dispatcher?: Dispatcher;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
};

/**
 * Where a call's ledger row goes: `enqueue` buffers it and returns a ticket, `recorded(ticket)`
 * resolves once it is committed (egress-ledger-writer.ts). Split so that a caller that never asks
 * whether its row is recorded costs no promise: the response's `recorded` asks on first read.
 */
export type EgressLedgerSink = {
  enqueue(row: EgressLedgerEntry): number;
  recorded(ticket: number): Promise<boolean>;
};

const USER_AGENT = 'layers-egress/1';

/**
 * A time-ordered UUID (version 7 layout: 48 bits of milliseconds, then random): a ledger row's id
 * sorts with its time (the ledger's one index is on org, project and time: migration 0027).
 */
export function ledgerRowId(now: number): string {
  const hex = now.toString(16).padStart(12, '0').slice(-12);
  const random = randomUUID();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}

/**
 * A call's answer. A class, not an object literal with a getter: `recorded` is asked of the ledger
 * on first read (most callers never read it, and then no promise is made), and a literal with an
 * accessor costs ~0.3 µs per call to build where an instance costs next to nothing.
 */
class GatewayResponse implements EgressResponse {
  readonly status: number;
  readonly headers: EgressResponse['headers'];
  readonly body: Buffer;
  readonly attempts: number;
  readonly #ledger: EgressLedgerSink;
  readonly #ticket: number;
  #recorded: Promise<boolean> | undefined;

  constructor(
    status: number,
    headers: EgressResponse['headers'],
    body: Buffer,
    attempts: number,
    ledger: EgressLedgerSink,
    ticket: number,
  ) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.attempts = attempts;
    this.#ledger = ledger;
    this.#ticket = ticket;
  }

  json<T = unknown>(): T {
    return JSON.parse(this.body.toString('utf8')) as T;
  }

  get recorded(): Promise<boolean> {
    this.#recorded ??= this.#ledger.recorded(this.#ticket);
    return this.#recorded;
  }
}

/** How a refusal names the call (built only when a call is refused). */
const what = (call: EgressCall, host: string) => `${call.vendor}/${call.purpose} to ${host}`;

type Prepared = { body: Buffer | undefined; contentType: string | undefined };

function prepareBody(call: EgressCall): Prepared {
  const b = call.body;
  const extraForm = call.credentials?.form;
  if (b === undefined) return { body: undefined, contentType: undefined };
  if ('json' in b) return { body: Buffer.from(JSON.stringify(b.json)), contentType: 'application/json' };
  if ('form' in b)
    return {
      body: Buffer.from(new URLSearchParams({ ...b.form, ...extraForm }).toString()),
      contentType: 'application/x-www-form-urlencoded',
    };
  if ('text' in b)
    return { body: Buffer.from(b.text), contentType: b.contentType ?? 'text/plain; charset=utf-8' };
  return {
    body: Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength),
    contentType: b.contentType,
  };
}

export function createEgressGateway(deps: EgressGatewayDeps) {
  const { allowlist, metrics } = deps;
  const destinations = deps.destinations ?? noEnabledDestinations;
  // The redirect map's base URLs, split once into an origin and a path prefix (no trailing slash).
  const fakes = new Map<string, { origin: string; prefix: string }>();
  for (const [host, base] of deps.redirects ?? []) {
    const u = new URL(base);
    fakes.set(host, { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') });
  }
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const ownDispatcher = deps.dispatcher ? undefined : new Agent({ connect: { timeout: 10_000 } });
  const dispatcher = deps.dispatcher ?? (ownDispatcher as Agent);
  const deadlines = createDeadlines();

  const labels = (call: EgressCall) => ({
    vendor: allowlist.vendor(call.vendor) ? call.vendor : 'unregistered',
    purpose: (EGRESS_PURPOSES as readonly string[]).includes(call.purpose) ? call.purpose : 'invalid',
  });
  /**
   * A sent call's labels and metric series per outcome, resolved once per vendor and purpose (a
   * closed, small set: only calls past checkHost are sent, so the vendor is registered and the
   * purpose valid), found by two lookups of the call's own strings instead of a key built per call.
   */
  type Sent = {
    labels: { vendor: string; purpose: string };
    series: Map<string, { observe(seconds: number): void }>;
  };
  const sentBy = new Map<string, Map<string, Sent>>();
  function sent(call: EgressCall): Sent {
    let byPurpose = sentBy.get(call.vendor);
    if (byPurpose === undefined) {
      byPurpose = new Map();
      sentBy.set(call.vendor, byPurpose);
    }
    let s = byPurpose.get(call.purpose);
    if (s === undefined) {
      s = { labels: labels(call), series: new Map() };
      byPurpose.set(call.purpose, s);
    }
    return s;
  }
  function observe(s: Sent, outcome: string, seconds: number): void {
    let c = s.series.get(outcome);
    if (!c) {
      c = metrics.callSeries({ ...s.labels, outcome });
      s.series.set(outcome, c);
    }
    c.observe(seconds);
  }

  function refuse(call: EgressCall, host: string, code: EgressErrorCode, message: string): never {
    const l = labels(call);
    metrics.refusals.inc({ ...l, reason: code });
    deps.logger?.warn({ vendor: l.vendor, purpose: l.purpose, host, reason: code }, 'egress call refused');
    throw new EgressError(code, message, { vendor: l.vendor, purpose: l.purpose });
  }

  // The last URL parsed, and its host: an adapter's calls come in runs to the same endpoint, and a
  // string comparison is cheaper than a parse and a URL object per call. The URL is only read
  // (target() copies it before adding credentials), so sharing it between calls is safe.
  let lastHref = '';
  let lastUrl: URL | undefined;
  let lastHost = '';
  function parse(call: EgressCall): { url: URL; host: string } {
    if (call.url === lastHref && lastUrl !== undefined) return { url: lastUrl, host: lastHost };
    let url: URL;
    try {
      url = new URL(call.url);
    } catch {
      return refuse(call, '(unparsable)', 'invalid_call', 'The call URL is not a URL.');
    }
    const lower = url.hostname.toLowerCase();
    const host = lower.endsWith('.') ? lower.slice(0, -1) : lower;
    lastHref = call.url;
    lastUrl = url;
    lastHost = host;
    return { url, host };
  }

  /** Step 1 of the module comment (the vendor names the host and the purpose); returns the parsed URL. */
  function checkHost(call: EgressCall): { url: URL; host: string; vendor: RegisteredVendor } {
    const { url, host } = parse(call);
    const vendor = allowlist.vendor(call.vendor);
    if (!vendor || !vendorClaimsHost(vendor, host))
      refuse(
        call,
        host,
        'host_not_allowed',
        `Egress refused (${what(call, host)}): no sub-processor names this host for this vendor.`,
      );
    if (!(EGRESS_PURPOSES as readonly string[]).includes(call.purpose) || !vendor.purposes.has(call.purpose))
      refuse(
        call,
        host,
        'purpose_not_allowed',
        `Egress refused (${what(call, host)}): the vendor is not a sub-processor for this purpose.`,
      );
    return { url, host, vendor };
  }

  /** A `capi` call goes only to a destination the project enabled (asked after the vendor checks). */
  async function checkDestination(call: EgressCall, vendor: RegisteredVendor, host: string): Promise<void> {
    const enabled = await destinations({ orgId: call.orgId, projectId: call.projectId });
    if (!enabled.some((d) => d.vendor === vendor.id && d.hosts.includes(host)))
      refuse(
        call,
        host,
        'host_not_allowed',
        `Egress refused (${what(call, host)}): the project has enabled no destination at this host.`,
      );
  }

  // The last org and project ids found valid: a process's calls come in runs for the same tenant,
  // and a string comparison is cheaper than the id pattern.
  let validOrg = '';
  let validProject = '';
  function validIds(call: EgressCall): boolean {
    if (call.orgId !== validOrg) {
      if (!isId('org', call.orgId)) return false;
      validOrg = call.orgId;
    }
    if (call.projectId !== null && call.projectId !== validProject) {
      if (!isId('project', call.projectId)) return false;
      validProject = call.projectId;
    }
    return true;
  }

  /** The rest of step 2, and step 3. */
  function checkCall(call: EgressCall, url: URL, host: string): void {
    if (url.protocol !== 'https:' || url.port !== '' || url.username !== '' || url.password !== '')
      refuse(
        call,
        host,
        'invalid_call',
        `Egress refused (${what(call, host)}): vendor calls go to https on the default port, without credentials in the URL.`,
      );
    if (!validIds(call))
      refuse(
        call,
        host,
        'invalid_call',
        `Egress refused (${what(call, host)}): the call names no valid org or project.`,
      );
    if (!Number.isInteger(call.records) || call.records < 0)
      refuse(
        call,
        host,
        'invalid_call',
        `Egress refused (${what(call, host)}): the record count must be a whole number ≥ 0.`,
      );
    for (const cls of call.dataClasses) {
      if (
        !isEgressDataClass(cls) ||
        !(EGRESS_DATA_CLASSES[cls].purposes as readonly string[]).includes(call.purpose)
      )
        refuse(
          call,
          host,
          'purpose_not_allowed',
          `Egress refused (${what(call, host)}): the purpose may not carry the data class '${String(cls).slice(0, 40)}'.`,
        );
    }
    if (call.body && 'bytes' in call.body && !call.dataClasses.includes('generated_media'))
      refuse(
        call,
        host,
        'invalid_call',
        `Egress refused (${what(call, host)}): a bytes body must declare generated_media.`,
      );
    if (call.credentials?.form && !(call.body && 'form' in call.body))
      refuse(
        call,
        host,
        'invalid_call',
        `Egress refused (${what(call, host)}): form credentials need a form body.`,
      );
    const refused = refusedFindings(call.purpose, scanCall(url, call.body));
    if (refused.length > 0)
      refuse(
        call,
        host,
        'content_refused',
        `Egress refused (${what(call, host)}): the call carries values that look like end-customer identifiers (${refused.join(', ')}), which this purpose may not send.`,
      );
  }

  /**
   * Where the request goes, as undici's origin and path (handed to the dispatcher as they are: a URL
   * string would be parsed again): the real origin, or the redirect map's local fake, whose path is
   * a prefix.
   */
  function target(url: URL, host: string, call: EgressCall): { origin: string; path: string } {
    let out = url;
    if (call.credentials?.query !== undefined) {
      out = new URL(url.href);
      for (const [k, v] of Object.entries(call.credentials.query)) out.searchParams.set(k, v);
    }
    const search = out.search;
    const path = search === '' ? out.pathname : `${out.pathname}${search}`;
    const fake = fakes.get(host);
    return fake === undefined
      ? { origin: out.origin, path }
      : { origin: fake.origin, path: `${fake.prefix}${path}` };
  }

  async function send(call: EgressCall, url: URL, host: string): Promise<EgressResponse> {
    const started = performance.now();
    const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = started + timeoutMs;
    const maxAttempts = attemptsAllowed(call);
    const idempotent = isIdempotent(call);
    const prepared = prepareBody(call);
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    if (prepared.contentType) headers['content-type'] = prepared.contentType;
    const own = call.headers;
    if (own !== undefined) for (const k of Object.keys(own)) headers[k.toLowerCase()] = own[k] as string;
    const { origin, path } = target(url, host, call);
    const metric = sent(call);
    const l = metric.labels;

    let attempts = 0;
    let bytesOut = 0;
    let bytesIn = 0;
    let status: number | undefined;
    let outcome: EgressLedgerRow['outcome'] = 'ok';
    let failure:
      | {
          code: EgressErrorCode;
          body?: Buffer;
          headers?: EgressResponse['headers'];
          retryAfterMs?: number;
          cause?: unknown;
        }
      | undefined;
    let response: { headers: EgressResponse['headers']; body: Buffer } | undefined;

    for (;;) {
      attempts++;
      const watched = deadlines.watch(deadline);
      let wait: number | undefined;
      try {
        // The watch above holds the whole-call deadline; undici's own per-phase timeouts are the
        // call's constant timeout, so undici refreshes its timers instead of making new ones per call.
        const res = await attempt(
          dispatcher,
          {
            origin,
            path,
            method: call.method,
            headers,
            body: prepared.body,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          call.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
          watched,
        );
        bytesOut += prepared.body?.length ?? 0;
        const buf = res.body;
        bytesIn += buf.length;
        status = res.status;
        if (status < 400) {
          response = { headers: res.headers, body: buf };
          outcome = 'ok';
          failure = undefined;
          break;
        }
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], clock.now().getTime());
        outcome = status === 429 ? 'rate_limited' : 'http_error';
        failure = {
          code: outcome,
          body: buf,
          headers: res.headers,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
        if (idempotent && retryableStatus(status)) wait = retryAfterMs ?? backoffMs(attempts + 1, random);
        if (wait !== undefined && wait > MAX_RETRY_AFTER_MS) wait = undefined;
      } catch (error) {
        if (error instanceof ResponseTooLarge) {
          bytesOut += prepared.body?.length ?? 0;
          outcome = 'response_too_large';
          failure = { code: outcome };
          break;
        }
        const sent = !nothingSent(error);
        if (sent) bytesOut += prepared.body?.length ?? 0;
        const code = (error as { code?: string }).code ?? '';
        const timedOut = watched.expired || code.includes('TIMEOUT');
        outcome = timedOut ? 'timeout' : 'network_error';
        failure = { code: outcome, cause: error };
        if (idempotent || !sent) wait = backoffMs(attempts + 1, random);
      } finally {
        deadlines.release(watched);
      }
      if (wait === undefined || attempts >= maxAttempts || performance.now() + wait >= deadline) break;
      await sleep(wait);
    }

    const latencyMs = performance.now() - started;
    const createdAt = clock.now();
    observe(metric, outcome, latencyMs / 1000);
    const ticket = deps.ledger.enqueue({
      org_id: call.orgId,
      project_id: call.projectId,
      vendor: call.vendor,
      host,
      purpose: call.purpose,
      // Read when the row is appended (the writer keeps a copy of a longer list), so not copied here.
      data_classes: call.dataClasses.length < 2 ? call.dataClasses : [...new Set(call.dataClasses)].sort(),
      records: call.records,
      bytes_out: bytesOut,
      bytes_in: bytesIn,
      attempts,
      status: status ?? null,
      outcome,
      latency_ms: latencyMs,
      created_at: createdAt,
    });

    if (failure || !response) {
      const f = failure ?? { code: 'network_error' as const };
      const error = new EgressError(
        f.code,
        `Egress call ${call.vendor}/${call.purpose} to ${host} failed: ${f.code}${status ? ` (HTTP ${status})` : ''} after ${attempts} attempt(s).`,
        { ...l, ...(status ? { status } : {}), ...f, attempts, recorded: deps.ledger.recorded(ticket) },
      );
      // Accounted before answered: a failed call may still have reached the vendor.
      if (call.accounted !== false) await error.recorded;
      throw error;
    }
    const res = new GatewayResponse(
      status as number,
      response.headers,
      response.body,
      attempts,
      deps.ledger,
      ticket,
    );
    // Accounted before answered (EgressCall.accounted): whatever the caller commits next, the
    // ledger already holds this call, or counted it as dropped.
    if (call.accounted !== false) await res.recorded;
    return res;
  }

  return {
    /** Checks, sends and records one vendor call; throws EgressError on refusal or failure. */
    request(call: EgressCall): Promise<EgressResponse> {
      // Not an async function: it would wrap send's promise in one more (two microtask turns per
      // call). A refusal still arrives as a rejection, never as a synchronous throw.
      try {
        const { url, host, vendor } = checkHost(call);
        if (call.purpose === 'capi')
          return checkDestination(call, vendor, host).then(() => {
            checkCall(call, url, host);
            return send(call, url, host);
          });
        checkCall(call, url, host);
        return send(call, url, host);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    /** Which identifier kinds a body would be refused for (for adapters' own tests and messages). */
    refusedKinds(call: EgressCall): IdentifierKind[] {
      return refusedFindings(call.purpose, scanCall(new URL(call.url), call.body));
    },
    async close(): Promise<void> {
      deadlines.stop();
      await ownDispatcher?.close();
    },
  };
}

export type EgressGateway = ReturnType<typeof createEgressGateway>;
