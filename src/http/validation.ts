import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

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
