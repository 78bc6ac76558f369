import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';
import { AppError } from '../lib/errors.ts';
import type { AppInstance } from './app-types.ts';
import { hasLoneSurrogate } from './json-body.ts';

/**
 * Request validation. Bodies are JSON and validated strictly: a number where a string belongs is an
 * error, never silently turned into "42". Query strings and path params are text on the wire, so
 * there (only) values are coerced to the schema's types (`?limit=5` → 5).
 */
const AJV_BASE = { useDefaults: true, removeAdditional: false, allErrors: false } as const;

export function validationSchemaController(): FastifyServerOptions['schemaController'] {
  const strictFactory = AjvCompiler();
  const coercingFactory = AjvCompiler();
  return {
    compilersFactory: {
      buildValidator(externalSchemas, ajvOptions) {
        const options = ajvOptions ?? { customOptions: {}, plugins: [] };
        const strict = strictFactory(externalSchemas as never, {
          ...options,
          customOptions: { ...options.customOptions, ...AJV_BASE, coerceTypes: false } as never,
        });
        const coercing = coercingFactory(externalSchemas as never, {
          ...options,
          customOptions: { ...options.customOptions, ...AJV_BASE, coerceTypes: 'array' } as never,
        });
        return (route) => (route.httpPart === 'body' ? strict(route) : coercing(route));
      },
    },
  };
}

/** The first NUL or lone surrogate among a request part's names and values (strings, or arrays of them). */
function badValue(part: unknown): { name: string; nul: boolean } | undefined {
  if (typeof part !== 'object' || part === null) return undefined;
  for (const [name, value] of Object.entries(part)) {
    for (const s of [name, ...(Array.isArray(value) ? value : [value])]) {
      if (typeof s !== 'string') continue;
      if (s.includes('\u0000')) return { name, nul: true };
      if (hasLoneSurrogate(s)) return { name, nul: false };
    }
  }
  return undefined;
}

const declared = (schema: unknown): string[] =>
  Object.keys((schema as { properties?: object } | undefined)?.properties ?? {});

/**
 * Path and query values are refused (400) when they hold NUL (`%00`) or a lone surrogate, before schema
 * validation: PostgreSQL text cannot hold NUL, so such a value would otherwise fail in whichever query
 * first used it. One hook for every route, present and future. The parameter is named only when the
 * route declares it (a query key of the caller's choosing is never echoed).
 */
export function registerParameterGuards(app: AppInstance): void {
  // Coercion turns `?limit=1e309` into Infinity, which Ajv's range checks then let through.
  app.addHook('preHandler', async (request) => {
    const schema = request.routeOptions.schema;
    for (const [part, where, names] of [
      [request.params, 'path parameter', declared(schema?.params)],
      [request.query, 'query parameter', declared(schema?.querystring)],
    ] as const) {
      for (const [name, value] of Object.entries((part ?? {}) as Record<string, unknown>)) {
        if (typeof value !== 'number' || Number.isFinite(value)) continue;
        const param = names.includes(name) ? name : undefined;
        throw new AppError(
          'parameter_invalid',
          `Invalid ${param ? `${where} '${param}'` : where}: must be a finite number.`,
          param ? { param } : {},
        );
      }
    }
  });
  app.addHook('preValidation', async (request) => {
    const schema = request.routeOptions.schema;
    for (const [part, where, names] of [
      [request.params, 'path parameter', declared(schema?.params)],
      [request.query, 'query parameter', declared(schema?.querystring)],
    ] as const) {
      const bad = badValue(part);
      if (!bad) continue;
      const param = names.includes(bad.name) ? bad.name : undefined;
      const what = param ? `${where} '${param}'` : where;
      throw new AppError(
        'parameter_invalid',
        bad.nul ? `Invalid ${what}: must not contain NUL (%00).` : `Invalid ${what}: must be valid Unicode.`,
        param ? { param } : {},
      );
    }
  });
}
