import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { AppInstance } from './app-types.ts';

/** The OpenAPI document is generated from the same TypeBox schemas that validate requests. */
export async function registerOpenApi(app: AppInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Layers platform API',
        version: '1.0.0',
        description:
          'Partner API (secret keys), SDK ingest (publishable keys) and the operator API. ' +
          'Errors share one shape; lists are cursor-paginated; POST, PATCH and DELETE accept Idempotency-Key.',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'lyr_sk_… (partner server) or lyr_pk_… (SDK ingest)',
          },
          operatorToken: { type: 'http', scheme: 'bearer', description: 'LAYERS_ADMIN_TOKEN' },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const auth = route.config?.auth;
      const security =
        auth === 'admin'
          ? [{ operatorToken: [] }]
          : auth === 'secret' || auth === 'publishable'
            ? [{ apiKey: [] }]
            : [];
      return { schema: { ...schema, security } as typeof schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
