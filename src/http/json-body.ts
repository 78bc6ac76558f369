import { AppError } from '../lib/errors.ts';
import type { AppInstance } from './app-types.ts';

/**
 * JSON bodies go through Fastify's own parser (prototype-poisoning protection), after one check of
 * ours: PostgreSQL text cannot hold NUL, so a `\u0000` anywhere is refused up front with a clear 400
 * instead of failing deep in a query.
 */
export function registerJsonBodyParser(app: AppInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.length === 0 && (request.method === 'DELETE' || request.method === 'GET')) {
      done(null, undefined);
      return;
    }
    if (text.includes('\\u0000')) {
      done(new AppError('invalid_request', 'Strings must not contain NUL (\\u0000) characters.'), undefined);
      return;
    }
    parse(request, text, done);
  });
}
