import { expect } from 'vitest';
import { bearer, type SdkProject, type TestApp } from './test-app.ts';

/** POST /v1/projects/:id/destinations with the org's secret key; expects 201. */
export async function createDestination(t: TestApp, p: SdkProject, body: Record<string, unknown>) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/projects/${p.projectId}/destinations`,
    headers: bearer(p.org.secret),
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; status: string };
}

/** An enabled Meta destination forwarding `purchase` as `Purchase`. */
export const metaDestination = (accessToken: string, pixelId = '1234567890') => ({
  type: 'meta_capi',
  pixel_id: pixelId,
  access_token: accessToken,
  event_map: { purchase: 'Purchase' },
  enabled: true,
});
