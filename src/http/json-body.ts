import type { FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.ts';
import { SEGMENT_ROUTES } from '../modules/segment/segment-routes.ts';
import type { AppInstance } from './app-types.ts';

/**
 * Deepest nesting of objects and arrays a JSON body may have. The deepest legitimate body (an SDK
 * batch: batch → event → properties, itself capped at 8 levels) is far below it; past it, recursive
 * code (JSON.stringify, the event validator) would overflow the stack on a body of a few KB.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Routes whose body holds free-form JSON that the route checks value by value itself (SDK ingest
 * refuses one event, not the whole batch, for NUL, lone surrogates, overflowed numbers and nesting
 * past its own cap): the parser leaves values alone there and refuses only nesting deeper than
 * OWN_CHECKS_MAX_JSON_DEPTH, which no per-event answer can be given for without a recursive walk.
 */
export const OWN_STRING_CHECKS = new Set(['/v1/sdk/events', ...SEGMENT_ROUTES]);

/** Routes that also take JSON labelled `text/plain` (Segment's analytics.js sends that, avoiding a CORS preflight). */
const TEXT_PLAIN_JSON_ROUTES = new Set(SEGMENT_ROUTES);

/**
 * Nesting limit on OWN_STRING_CHECKS routes: far past their own per-event caps (the event validator
 * stops at 8 levels), yet shallow enough for JSON.stringify and the validator's bounded recursion.
 */
export const OWN_CHECKS_MAX_JSON_DEPTH = 512;

const NUL_MESSAGE = 'Strings must not contain NUL (\\u0000) characters.';
const NUMBER_MESSAGE = 'Numbers must be within the range of a 64-bit float (1e309 is not a number).';
const SURROGATE_MESSAGE =
  'Strings must be valid Unicode: a lone UTF-16 surrogate (\\ud800–\\udfff) is not a character.';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a string holds a UTF-16 surrogate without its pair (not Unicode; `String#isWellFormed`). */
export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s);

/**
 * One pass over JSON text, outside strings: whether it nests deeper than `limit`, and whether it has
 * a number that could overflow to Infinity when parsed (one with an exponent, or of 309+ digits).
 */
export function scanJsonText(text: string, limit: number): { tooDeep: boolean; bigNumber: boolean } {
  let depth = 0;
  let digits = 0;
  let bigNumber = false;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c >= 48 && c <= 57 /* 0-9 */) {
      if (++digits >= 309) bigNumber = true;
      continue;
    }
    if ((c === 101 || c === 69) /* e E */ && digits > 0) bigNumber = true;
    digits = 0;
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return { tooDeep: true, bigNumber };
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return { tooDeep: false, bigNumber };
}

/** The first problem of a string, key or number in parsed JSON (iterative; the depth is bounded already). */
function badValue(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  const check = (s: string) => {
    if (s.includes('\u0000')) return NUL_MESSAGE;
    if (hasLoneSurrogate(s)) return SURROGATE_MESSAGE;
    return undefined;
  };
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      const problem = check(v);
      if (problem) return problem;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return NUMBER_MESSAGE;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        const problem = check(key);
        if (problem) return problem;
        stack.push(child);
      }
    }
  }
  return undefined;
}

/**
 * JSON bodies go through Fastify's own parser (prototype-poisoning protection), bracketed by checks of
 * ours that turn what would fail deep in a query or a recursive walk into a clear 400: nesting deeper
 * than MAX_JSON_DEPTH, NUL anywhere (PostgreSQL text cannot hold it), lone surrogates (not Unicode:
 * PostgreSQL's jsonb refuses them and its text silently replaces them) and numbers that parse to
 * Infinity. NUL and surrogates can only arrive as `\u` escapes and Infinity only from an exponent or
 * 309+ digits, so the parsed value is walked only when the text has one of those.
 * Only JSON is parsed: any other content type answers 415.
 */
export function registerJsonBodyParser(app: AppInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (request, body, done) => {
    if (TEXT_PLAIN_JSON_ROUTES.has(request.routeOptions.url ?? '')) parseJson(request, body, done);
    else
      done(
        new AppError('unsupported_media_type', 'Send JSON with Content-Type: application/json.'),
        undefined,
      );
  });
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);

  function parseJson(
    request: FastifyRequest,
    body: string | Buffer,
    done: (error: Error | null, value?: unknown) => void,
  ): void {
    const text = body as string;
    if (text.length === 0 && (request.method === 'DELETE' || request.method === 'GET')) {
      done(null, undefined);
      return;
    }
    const ownChecks = OWN_STRING_CHECKS.has(request.routeOptions.url ?? '');
    const depthLimit = ownChecks ? OWN_CHECKS_MAX_JSON_DEPTH : MAX_JSON_DEPTH;
    const scan = scanJsonText(text, depthLimit);
    if (scan.tooDeep) {
      done(
        new AppError('invalid_request', `JSON must not be nested deeper than ${depthLimit} levels.`),
        undefined,
      );
      return;
    }
    if (ownChecks || (!text.includes('\\u') && !scan.bigNumber)) {
      parse(request, text, done);
      return;
    }
    parse(request, text, (error, parsed) => {
      if (error) {
        done(error, undefined);
        return;
      }
      const problem = badValue(parsed);
      if (problem) done(new AppError('invalid_request', problem), undefined);
      else done(null, parsed);
    });
  }
}
