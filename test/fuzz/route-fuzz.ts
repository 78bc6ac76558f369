import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import type { RouteEntry } from '../../src/http/route-catalog.ts';
import { ERROR_CODES } from '../../src/lib/errors.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { type FuzzWorld, other, TOKEN } from './fuzz-world.ts';
import { type FuzzRequest, requestArb } from './route-requests.ts';

/**
 * Runs the fuzz over every route of the catalog and checks each answer: never 5xx; every error in the
 * contract's shape (exact keys, a type of the contract, a code whose status is the one answered, the
 * request id of the Request-Id header), never echoing a value sent; no response holding anything
 * the other org owns, unless the request itself carried it in free text (a name, a user id); and
 * never a success for another org's id.
 */
const ERROR_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'idempotency_error',
  'rate_limit_error',
  'api_error',
]);
const ERROR_KEYS = new Set(['type', 'code', 'message', 'param', 'request_id']);

export type Finding = { route: string; problem: string; request: string; response: string };

export type FuzzSummary = {
  requests: number;
  routes: number;
  fiveXx: number;
  findings: Finding[];
  statuses: Record<string, Record<number, number>>;
  seed: number;
};

function contractProblems(res: LightMyRequestResponse): string[] {
  const problems: string[] = [];
  if (!/^application\/json/.test(String(res.headers['content-type'])))
    problems.push(`error with content-type ${res.headers['content-type']}`);
  let body: { error?: Record<string, unknown> };
  try {
    body = JSON.parse(res.body);
  } catch {
    return [...problems, 'error body is not JSON'];
  }
  const error = body.error;
  if (Object.keys(body).join() !== 'error' || typeof error !== 'object' || error === null)
    return [...problems, 'error body is not {"error": {...}}'];
  for (const key of Object.keys(error)) if (!ERROR_KEYS.has(key)) problems.push(`error has key ${key}`);
  if (!ERROR_TYPES.has(error.type as string)) problems.push(`error type ${String(error.type)}`);
  const code = ERROR_CODES[error.code as keyof typeof ERROR_CODES];
  if (!code) problems.push(`error code ${String(error.code)} is not in the closed set`);
  else if (code.status !== res.statusCode || code.type !== error.type)
    problems.push(`code ${String(error.code)} answered with ${res.statusCode} / ${String(error.type)}`);
  if (typeof error.message !== 'string' || error.message.length === 0) problems.push('error without message');
  if (error.param !== undefined && typeof error.param !== 'string') problems.push('param is not a string');
  if (error.request_id !== res.headers['request-id']) problems.push('request_id differs from Request-Id');
  return problems;
}

const ID_KEY = /^(id|.+_id|.+_ids|secret)$/;
/** Id-named fields whose values the partner chooses (a user or app id can be any text, even an id of ours). */
const FREE_ID_KEYS = new Set(['user_id', 'anonymous_id', 'event_id', 'app_id', 'user_ids']);
/**
 * Free-form JSON an org's own SDK sent (an event's properties, traits and context, a profile's
 * properties): any key, any value, so an `*_id` there is the org's own text even when it names
 * another org's object (earlier fuzz requests send such values), never an id Layers answered with.
 */
const FREE_JSON_KEYS = new Set(['properties', 'traits', 'context']);
const SECRET = /^(lyr_(sk|pk)_|whsec_)/;

/** The values of id fields in a JSON answer (or each line of NDJSON); undefined when it is not JSON. */
function idFieldValues(body: string): string[] | undefined {
  const docs: unknown[] = [];
  try {
    docs.push(JSON.parse(body));
  } catch {
    try {
      for (const line of body.split('\n')) if (line.trim()) docs.push(JSON.parse(line));
    } catch {
      return undefined;
    }
  }
  const out: string[] = [];
  const visit = (v: unknown, key: string) => {
    if (typeof v === 'string') {
      if (ID_KEY.test(key) && !FREE_ID_KEYS.has(key)) out.push(v);
    } else if (typeof v === 'object' && v !== null && !FREE_JSON_KEYS.has(key)) {
      for (const [k, child] of Object.entries(v)) visit(child, Array.isArray(v) ? key : k);
    }
  };
  for (const doc of docs) visit(doc, '');
  return out;
}

export function checkResponse(req: FuzzRequest, res: LightMyRequestResponse, world: FuzzWorld): string[] {
  const problems: string[] = [];
  if (res.statusCode >= 500) problems.push(`answered ${res.statusCode}`);
  if (!/^req_/.test(String(res.headers['request-id']))) problems.push('no Request-Id header');
  if (res.statusCode >= 400) {
    problems.push(...contractProblems(res));
    for (const sent of req.sentStrings) {
      // A plain word (an enum value such as a status) may rightly be named in a message.
      if (/^[a-z][a-z0-9_]*$/.test(sent)) continue;
      if (res.body.includes(sent) || res.body.includes(JSON.stringify(sent).slice(1, -1)))
        problems.push(`error echoes a value sent (${JSON.stringify(sent.slice(0, 40))})`);
    }
  }
  if (req.actor === 'admin') return problems;
  const sentText = `${req.url}\n${decodeURIComponentSafe(req.url)}\n${JSON.stringify(req.headers)}\n${req.payload ?? ''}`;
  const strangers = req.actor === 'anonymous' ? (['A', 'B'] as const) : [other(req.actor)];
  const ids = idFieldValues(res.body);
  for (const owner of strangers) {
    const found = world.owners.ownedIn(res.body, owner);
    for (const owned of found) {
      // In an id field (or a secret anywhere, or any id in a non-JSON answer) another org's value
      // is a leak; in free text (a name) it is only an echo of what this org itself wrote.
      const inIdField = ids === undefined || SECRET.test(owned) || ids.includes(owned) || !owned.match(TOKEN);
      if (inIdField && !(sentText.includes(owned) && !req.idValues.includes(owned)))
        problems.push(`response holds ${owner}'s ${owned.slice(0, 12)}…`);
    }
    if (res.statusCode < 300) {
      const foreign = req.idValues.filter((v) => world.owners.ownedIn(v, owner).includes(v));
      if (foreign.length > 0)
        problems.push(`succeeded with ${owner}'s id ${foreign[0]?.slice(0, 12)}… where an id belongs`);
    }
  }
  return problems;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

export function describeRequest(req: FuzzRequest): string {
  const { authorization: _auth, ...headers } = req.headers;
  return clip(
    `${req.actor} ${req.method} ${req.url} ${JSON.stringify(headers)} ${req.payload === undefined ? '' : req.payload}`,
    600,
  );
}

export async function fuzzRoutes(
  t: TestApp,
  world: FuzzWorld,
  opts: { runsPerRoute: number; seed: number; routes?: RouteEntry[] },
): Promise<FuzzSummary> {
  const summary: FuzzSummary = {
    requests: 0,
    routes: 0,
    fiveXx: 0,
    findings: [],
    statuses: {},
    seed: opts.seed,
  };
  const routes = opts.routes ?? t.app.routeCatalog;
  for (const [index, route] of routes.entries()) {
    const name = `${route.method} ${route.url}`;
    const statuses: Record<number, number> = {};
    summary.statuses[name] = statuses;
    await fc.assert(
      fc.asyncProperty(requestArb(route, world), async (req) => {
        const res = await t.app.inject({
          method: req.method as 'GET',
          url: req.url,
          headers: req.headers,
          ...(req.payload === undefined ? {} : { payload: req.payload }),
        });
        summary.requests += 1;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 500) summary.fiveXx += 1;
        const problems = checkResponse(req, res, world);
        if (req.actor === 'A' || req.actor === 'B') {
          if (res.statusCode < 300 && problems.length === 0) world.owners.learn(res.body, req.actor);
        }
        // For a 5xx, what the server logged about it (log lines hold no personal data by design).
        const logged =
          res.statusCode >= 500
            ? t.logs
                .filter((l) => l.includes(res.headers['request-id'] as string) && l.includes('"err"'))
                .join('')
            : '';
        for (const problem of problems)
          summary.findings.push({
            route: name,
            problem,
            request: describeRequest(req),
            response: clip(res.body, 300) + (logged ? `\n    logged: ${clip(logged, 900)}` : ''),
          });
        return true;
      }),
      { numRuns: opts.runsPerRoute, seed: opts.seed + index },
    );
    summary.routes += 1;
  }
  return summary;
}

/** One line per distinct problem of a route, with the first request that showed it. */
export function formatFindings(findings: Finding[]): string[] {
  const seen = new Map<string, { finding: Finding; count: number }>();
  for (const f of findings) {
    const key = `${f.route} | ${f.problem.replace(/[a-z]{2,5}_[0-9a-z]{5,}…?/g, '<id>')}`;
    const entry = seen.get(key);
    if (entry) entry.count += 1;
    else seen.set(key, { finding: f, count: 1 });
  }
  return [...seen.entries()].map(
    ([key, { finding, count }]) => `${key} ×${count}\n    ${finding.request}\n    → ${finding.response}`,
  );
}
