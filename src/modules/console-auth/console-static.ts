import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { AppInstance } from '../../http/app-types.ts';

/**
 * The console's built files (console/build, committed: `npm install && npm start` serves them with
 * no build step) at /console/. The app routes with the URL fragment (`/console/#/projects`), so the
 * server only ever serves index.html and hashed assets. Headers: a strict CSP (scripts and styles
 * from this origin only, no framing, no plugins), nosniff, no referrer, no caching of index.html.
 */
export const CONSOLE_BUILD_DIR = new URL('../../../console/build/', import.meta.url);

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export async function registerConsoleStatic(app: AppInstance, root: URL = CONSOLE_BUILD_DIR): Promise<void> {
  app.get('/console', { config: { auth: 'none' }, schema: { hide: true } }, (_req, reply) =>
    reply.redirect('/console/', 302),
  );
  if (!existsSync(new URL('index.html', root))) {
    app.get('/console/', { config: { auth: 'none' }, schema: { hide: true } }, (_req, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built. Run: npm run build -w console'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: root.pathname,
    prefix: '/console/',
    index: ['index.html'],
    wildcard: true,
    decorateReply: false,
    schemaHide: true,
    setHeaders(res, filePath) {
      res.header('Content-Security-Policy', CSP);
      res.header('X-Content-Type-Options', 'nosniff');
      res.header('Referrer-Policy', 'no-referrer');
      res.header(
        'Cache-Control',
        filePath.endsWith('.html') ? 'no-store' : 'public, max-age=31536000, immutable',
      );
    },
  });
}
