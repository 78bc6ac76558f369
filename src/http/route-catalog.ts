import type { AppInstance, AuthMode } from './app-types.ts';

/** The request schemas of a route (JSON Schema, as TypeBox builds it), for tests that generate input. */
export type RouteInputSchemas = {
  params?: unknown;
  querystring?: unknown;
  body?: unknown;
  headers?: unknown;
};

/**
 * Every route the app registers, with its auth mode, the resource kinds of its path params and its
 * request schemas. The shared route-security tests, the route fuzz suite and the OpenAPI completeness
 * test iterate over this list, so a new route is covered by them without anyone remembering to add it.
 */
export type RouteEntry = {
  method: string;
  url: string;
  auth: AuthMode;
  tenantParams: Record<string, string>;
  schema: RouteInputSchemas;
};

export function registerRouteCatalog(app: AppInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routes.push({
        method,
        url: route.url,
        auth: route.config?.auth ?? 'none',
        tenantParams: route.config?.tenantParams ?? {},
        schema: {
          params: route.schema?.params,
          querystring: route.schema?.querystring,
          body: route.schema?.body,
          headers: route.schema?.headers,
        },
      });
    }
  });
  return routes;
}
