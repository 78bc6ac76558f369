import type { AppInstance, AuthMode } from './app-types.ts';

/**
 * Every route the app registers, with its auth mode and the resource kinds of its path params. The
 * shared route-security tests and the OpenAPI completeness test iterate over this list, so a new
 * route is covered by them without anyone remembering to add it.
 */
export type RouteEntry = {
  method: string;
  url: string;
  auth: AuthMode;
  tenantParams: Record<string, string>;
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
      });
    }
  });
  return routes;
}
