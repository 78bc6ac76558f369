import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses } from '../../http/schemas.ts';
import {
  buildDataProtectionPage,
  type PageEgress,
  type PageInput,
} from '../../privacy/data-protection-page.ts';
import { toHtml } from '../../privacy/page-document.ts';
import { Subprocessor, type SubprocessorEntry } from '../../privacy/subprocessors.ts';

const SubprocessorList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(Subprocessor),
  has_more: Type.Boolean(),
});

/**
 * The live data-protection page (public, server-rendered HTML, no script) and the sub-processor list
 * (partner API). Both show what this deployment is configured with and enforces.
 */
export function registerDataProtectionRoutes(
  app: AppInstance,
  deps: {
    page: PageInput;
    subprocessors: readonly SubprocessorEntry[];
    /** Read with a secret key, the page also shows the org's last 30 days of egress (egress-page-reader.ts). */
    egressPage?: { forRequest(request: FastifyRequest): Promise<PageEgress | undefined> };
  },
): void {
  // The page depends on the registry and start-up configuration only: render it once.
  const html = toHtml(buildDataProtectionPage(deps.page));

  app.get(
    '/data-protection',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['Data protection'],
        summary: 'The data-protection page, with the values this deployment enforces (HTML)',
        produces: ['text/html'],
        response: {
          200: {
            description: 'The page, server-rendered (no script)',
            content: { 'text/html': { schema: Type.String() } },
          },
        },
      },
    },
    async (req, reply) => {
      const egress = await deps.egressPage?.forRequest(req);
      reply
        .type('text/html; charset=utf-8')
        .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
        .header('Vary', 'Authorization');
      // One org's figures are private to it: never cached by anyone but that reader.
      if (egress !== undefined)
        return reply
          .header('Cache-Control', 'private, no-store')
          .send(toHtml(buildDataProtectionPage(deps.page, egress)));
      return reply.header('Cache-Control', 'public, max-age=300').send(html);
    },
  );

  app.get(
    '/v1/subprocessors',
    {
      config: { auth: 'secret' },
      schema: {
        tags: ['Data protection'],
        summary: 'The sub-processor list: name, purpose, data categories, location',
        response: { 200: SubprocessorList, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    async () => ({ object: 'list' as const, data: [...deps.subprocessors], has_more: false }),
  );
}
