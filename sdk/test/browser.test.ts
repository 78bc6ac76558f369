import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSdk, listFiles, REPO_DIR } from './helpers/build-sdk.js';
import { FakeIngestServer } from './helpers/fake-ingest-server.js';
import { TEST_KEY } from './helpers/setup.js';

/**
 * The BUILT SDK in Debian's Chromium, served from the same 127.0.0.1 origin as the fake ingest
 * endpoint. Proves what only a real browser can: localStorage survives a reload, the page-hide
 * flush uses keepalive fetch, and WebCrypto/toLowerCase in the browser hash like the server.
 */
const CHROMIUM = '/usr/bin/chromium';
const APP_ID = 'com.example.web';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Layers SDK test page</title>
<script type="module">
  import { init } from '/sdk/index.js';
  // The flush interval comes from sessionStorage so the test can keep the first load's timer from
  // firing (60 s) and let the reloaded page flush on its own, soon.
  const interval = Number(sessionStorage.getItem('flushIntervalMs') ?? '60000');
  window.layersErrors = [];
  window.layers = init({
    key: ${JSON.stringify(TEST_KEY)},
    endpoint: location.origin,
    appId: ${JSON.stringify(APP_ID)},
    flushIntervalMs: interval,
    retryBaseDelayMs: 200,
    onError: (e) => window.layersErrors.push({ code: e.code, status: e.status }),
  });
  window.layersReady = true;
</script>`;

let sdkDir: string;
let server: FakeIngestServer;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Debian's Chromium is required for the SDK browser tests and is missing at ${CHROMIUM}. ` +
        'Install it with: apt-get update && apt-get install -y chromium',
    );
  }
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}

beforeAll(() => {
  sdkDir = mkdtempSync(path.join(tmpdir(), 'layers-sdk-browser-'));
  buildSdk(sdkDir);
});

afterAll(async () => {
  await browser?.close();
  rmSync(sdkDir, { recursive: true, force: true });
});

beforeEach(async () => {
  server = new FakeIngestServer();
  server.files.set('/', { contentType: 'text/html; charset=utf-8', body: PAGE });
  server.files.set('/elsewhere', {
    contentType: 'text/html; charset=utf-8',
    body: '<!doctype html><title>elsewhere</title>',
  });
  for (const file of listFiles(sdkDir)) {
    server.files.set(`/sdk/${file}`, {
      contentType: file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/plain; charset=utf-8',
      body: readFileSync(path.join(sdkDir, file)),
    });
  }
  await server.start();
  context = await (await launch()).newContext();
  page = await context.newPage();
});

afterEach(async () => {
  await context?.close();
  await server.stop();
  // Everything the built SDK sent in Chromium met the contract's per-event rules.
  expect(server.rejections).toEqual([]);
});

async function openPage(): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => (window as unknown as { layersReady?: boolean }).layersReady === true);
}

/** The SDK's persisted queue, read straight from the page's localStorage. */
async function persistedEventIds(): Promise<string[]> {
  return page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.endsWith(':queue'));
    const text = key ? localStorage.getItem(key) : null;
    return text ? (JSON.parse(text) as Array<{ event_id: string }>).map((e) => e.event_id) : [];
  });
}

async function trackSome(names: string[]): Promise<void> {
  await page.evaluate(async (list) => {
    const layers = (window as unknown as { layers: import('../src/client.js').LayersClient }).layers;
    await layers.identify('u_web', { email: ' Person@Example.com ', phone: '+1 (650) 555-1212' });
    for (const name of list) await layers.track(name, { page: location.pathname });
  }, names);
}

describe('Layers SDK in Chromium', () => {
  it('restores its queue after a reload while the server refuses, then delivers every event once', async () => {
    server.behaviour = { kind: 'fail', response: { status: 503 } };
    await openPage();
    await trackSome(['a', 'b', 'c']);
    const ids = await persistedEventIds();
    expect(ids).toHaveLength(4);

    // Reload long before the 60 s flush timer; the page-hide flush meets a 503.
    await page.evaluate(() => sessionStorage.setItem('flushIntervalMs', '300'));
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { layersReady?: boolean }).layersReady === true);
    expect(await persistedEventIds()).toEqual(ids);
    expect(server.events.size).toBe(0);

    server.behaviour = { kind: 'normal' };
    // No explicit flush: the reloaded page's own timer (or its retry) sends the restored queue.
    await server.waitFor(() => server.events.size === 4, 'the restored events');
    expect(server.acceptedIds.sort()).toEqual([...ids].sort());
    for (const count of server.receipts.values()) expect(count).toBe(1);
    await page.waitForFunction(() => !Object.keys(localStorage).some((k) => k.endsWith(':queue')));

    const wire = server.requests.map((r) => r.rawBody).join('\n');
    // Hex digests and UUIDs may contain any digit run; plaintext would carry these exact forms.
    expect(wire).not.toMatch(/person@example\.com|555-1212|\(650\)|16505551212/i);
    const identify = [...server.events.values()].find((e) => e.type === 'identify')!;
    expect(identify.traits).toEqual({
      email_sha256: '542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345',
      phone_sha256: 'e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176',
    });
  });

  it('does not lose events when the page reloads while their request is in flight', async () => {
    server.behaviour = { kind: 'commit-then-hang' }; // committed, but the answer never comes
    await openPage();
    await trackSome(['x', 'y']);
    const ids = await persistedEventIds();
    await page.evaluate(() => {
      void (window as unknown as { layers: { flush(): Promise<unknown> } }).layers.flush();
    });
    await server.waitFor(() => server.requests.length === 1, 'the in-flight request');
    expect(await persistedEventIds()).toEqual(ids); // not acknowledged, so still on the device

    server.behaviour = { kind: 'normal' };
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { layersReady?: boolean }).layersReady === true);
    expect(await persistedEventIds()).toEqual(ids);
    await page.evaluate(() =>
      (window as unknown as { layers: { flush(): Promise<unknown> } }).layers.flush(),
    );
    expect(await persistedEventIds()).toEqual([]);
    // Sent again (the first answer was lost; Chromium may also re-send them in the page-hide
    // keepalive flush once the reload aborted the hung request), stored once: dedup by event_id.
    expect(server.acceptedIds.sort()).toEqual([...ids].sort());
    for (const id of ids) expect(server.receipts.get(id)).toBeGreaterThanOrEqual(2);
    expect(server.duplicates).toBeGreaterThanOrEqual(ids.length);
  });

  it('flushes with keepalive when the page is left before the flush timer', async () => {
    await openPage();
    await trackSome(['leaving']);
    await page.goto(`${server.url}/elsewhere`);
    await server.waitFor(() => server.events.size === 2, 'the page-hide flush');
    expect([...server.events.values()].map((e) => e.event ?? e.type)).toEqual(['identify', 'leaving']);
  });

  it('keeps the opt-out across reloads: nothing queued, nothing sent', async () => {
    server.behaviour = { kind: 'fail', response: { status: 503 } };
    await openPage();
    await trackSome(['before-opt-out']);
    await page.evaluate(() => (window as unknown as { layers: { optOut(): void } }).layers.optOut());
    expect(await persistedEventIds()).toEqual([]);
    server.behaviour = { kind: 'normal' };
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { layersReady?: boolean }).layersReady === true);
    const optedOut = await page.evaluate(async () => {
      const layers = (window as unknown as { layers: import('../src/client.js').LayersClient }).layers;
      await layers.track('while-opted-out');
      await layers.flush();
      return layers.isOptedOut();
    });
    expect(optedOut).toBe(true);
    expect(await persistedEventIds()).toEqual([]);
    expect(server.events.size).toBe(0);
  });

  it('hashes the shared golden vectors in the browser exactly as the server does', async () => {
    const vectors = JSON.parse(
      readFileSync(path.join(REPO_DIR, 'test/vectors/identifier-vectors.json'), 'utf8'),
    ) as {
      email: Array<{ input: string; sha256: string }>;
      phone: Array<{ input: string; sha256: string }>;
    };
    await openPage();
    await page.evaluate(async ({ email, phone }) => {
      const layers = (window as unknown as { layers: import('../src/client.js').LayersClient }).layers;
      for (const v of email) await layers.identify(`email:${v.input}`, { email: v.input });
      for (const v of phone) await layers.identify(`phone:${v.input}`, { phone: v.input });
      await layers.flush();
    }, vectors);
    const byUser = new Map([...server.events.values()].map((e) => [e.user_id as string, e.traits]));
    for (const v of vectors.email) expect(byUser.get(`email:${v.input}`)).toEqual({ email_sha256: v.sha256 });
    for (const v of vectors.phone) expect(byUser.get(`phone:${v.input}`)).toEqual({ phone_sha256: v.sha256 });
  });
});
