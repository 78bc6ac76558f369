import { afterAll, beforeAll } from 'vitest';
import { createSdkProject, createTestApp, type TestApp, type TestOrg } from './test-app.ts';

export type SdkProjectApp = { t: TestApp; org: TestOrg; projectId: string; pk: string };

/**
 * The real app with one org, SDK project and publishable key for the enclosing describe block:
 * made before its tests, closed after them. Its fields are set once the block's beforeAll has run.
 */
export function useSdkProjectApp(): SdkProjectApp {
  const s = {} as SdkProjectApp;
  beforeAll(async () => {
    s.t = await createTestApp();
    const sdk = await createSdkProject(s.t.app);
    s.org = sdk.org;
    s.projectId = sdk.projectId;
    s.pk = sdk.publishableKey;
  });
  afterAll(() => s.t.close());
  return s;
}
