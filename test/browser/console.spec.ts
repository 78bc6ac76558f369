import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { totpCode } from '../../src/modules/console-auth/console-totp.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { inviteToken } from '../helpers/console-session.ts';
import { identifyEvent, sendEvents } from '../helpers/sdk-events.ts';
import {
  bearer,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * The console in Debian's Chromium through a real listening server: the Done-means flow of issue 20.
 * Screenshots go to test-results/console/ (gitignored).
 */
const SHOTS = path.join(REPO_ROOT, 'test-results/console');
const PASSWORD = 'harbour violet engine 77 softly';
const clock = fixedClock(new Date());

describe('console in a real browser', () => {
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let base: string;
  let browser: Browser;
  let page: Page;
  let totpSecret = '';
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await createTestApp({ clock, env: { LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
    org = await createOrg(t.app, 'Acme');
    other = await createOrg(t.app, 'Other');
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
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
    page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('invitation → sign-up → MFA enrolment → sign-out → sign-in with TOTP', async () => {
    const token = await inviteToken(t, org.id, 'owner@acme.example', 'owner');
    await page.goto(`${base}/console/#/invitation/${token}`);
    await page.getByText('Join Acme on Layers').waitFor();
    await page.getByLabel('Choose a password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('at least 12 characters', { exact: false }).first().waitFor();
    await page.getByLabel('Choose a password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('Your password (to confirm it is you)').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    totpSecret = (await page.getByTestId('totp-secret').textContent()) as string;
    const secret = totpSecret;
    await shot('01-mfa-enrolment');
    await page.getByLabel('The 6-digit code the app shows').fill(await totpCode(secret, clock.now()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('list', { name: 'Recovery codes' }).waitFor();
    await shot('02-recovery-codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    await page.getByLabel('Email').fill('owner@acme.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Code from your authenticator app (or a recovery code)').waitFor();
    clock.advance(30_000);
    await page
      .getByLabel('Code from your authenticator app (or a recovery code)')
      .fill(await totpCode(secret, clock.now()));
    await shot('03-sign-in-totp');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
  });

  it('creates a project, a key shown once then only its prefix, a webhook; reads the audit log', async () => {
    await page.getByLabel('New project name').fill('Web shop');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('cell', { name: 'Web shop' }).waitFor();
    await shot('04-projects');

    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Key name').fill('Backend');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-secret').textContent()) as string;
    expect(secret).toMatch(/^lyr_sk_/);
    await shot('05-key-shown-once');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('cell', { name: `lyr_sk_…${secret.slice(-4)}` }).waitFor();
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.getByRole('cell', { name: 'Backend' }).waitFor();
    expect(await page.content()).not.toContain(secret);
    await shot('06-keys-list');

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('Endpoint URL (https)').fill('http://127.0.0.1:9/layers-hook');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByText('Signing secret (shown once):').waitFor();
    await page.getByRole('cell', { name: /127\.0\.0\.1/ }).waitFor();

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'project.created' }).waitFor();
    await page.getByText(/Hash chain verified: all \d+ entries are intact/).waitFor();
    await page.getByRole('cell', { name: 'webhook_endpoint.created' }).first().waitFor();
    await page
      .getByRole('row', { name: /project\.created/ })
      .getByRole('button', { name: 'Changes' })
      .click();
    await shot('07-audit-log');
    await page.getByLabel('Resource type (e.g. api_key)').fill('api_key');
    await page.getByRole('cell', { name: 'api_key.created' }).first().waitFor();
    await expect.poll(() => page.getByRole('cell', { name: 'project.created' }).count()).toBe(0);
    await page.getByLabel('Resource type (e.g. api_key)').fill('');
  });

  it('runs a DSR erasure by email hashed in the browser and shows the receipt', async () => {
    const project = await createProject(t.app, org, 'App');
    const pk = await createKey(t.app, org, { type: 'publishable', project_id: project.id });
    await sendEvents(t.app, pk.secret, [identifyEvent('u_dsr_1', { email: ' Person@Example.com ' })]);
    await page.getByRole('link', { name: 'Data subjects' }).click();
    await page.getByRole('heading', { name: 'Data-subject requests' }).waitFor();
    await page.getByLabel('Project', { exact: true }).selectOption(project.id);
    await page.getByLabel('Value').fill('person@example.com');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByText('u_dsr_1').waitFor();
    await page.getByRole('button', { name: 'Erase this user' }).click();
    await page.getByTestId('dsr-receipt').waitFor();
    // No worker runs in this test: carry the request out as the worker would, then the page polls.
    const { rows } = await t.db.systemPool.query(`SELECT id FROM data_subject_requests WHERE org_id = $1`, [
      org.id,
    ]);
    await t.container.erasure.run(org.id, rows[0].id);
    await page.getByRole('heading', { name: 'Erasure completed' }).waitFor({ timeout: 20_000 });
    await shot('08-dsr-receipt');
  });

  it('refuses a viewer a key with a clear message; other org ids are not found; CSRF refused', async () => {
    const viewerPage = await (await browser.newContext({ viewport: { width: 360, height: 740 } })).newPage();
    const token = await inviteToken(t, org.id, 'viewer@acme.example', 'viewer');
    await viewerPage.goto(`${base}/console/#/invitation/${token}`);
    await viewerPage.getByLabel('Choose a password').fill(PASSWORD);
    await viewerPage.getByRole('button', { name: 'Create account' }).click();
    await viewerPage.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
    await viewerPage.goto(`${base}/console/#/keys`);
    await viewerPage.getByLabel('Key name').fill('Sneaky');
    await viewerPage.getByRole('button', { name: 'Create key' }).click();
    await viewerPage.getByRole('alert').filter({ hasText: 'Your role (viewer)' }).waitFor();
    await viewerPage.screenshot({ path: path.join(SHOTS, '09-viewer-refused-360px.png'), fullPage: true });

    const theirs = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: bearer(other.secret),
      payload: { name: 'Theirs' },
    });
    const status = await viewerPage.evaluate(
      async (id) => (await fetch(`/v1/projects/${id}`)).status,
      theirs.json().id,
    );
    expect(status).toBe(404);
    const csrf = await page.evaluate(async () => {
      const r = await fetch('/v1/projects', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"no token"}',
      });
      return { status: r.status, body: await r.json() };
    });
    expect(csrf.status).toBe(403);
    expect(csrf.body.error.code).toBe('csrf_token_invalid');
    await viewerPage.close();
  });

  it('tests a webhook and lists its delivery; requests a DPA; charts the egress roll-up', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByText('Test event queued.').waitFor();
    await page.getByRole('button', { name: 'Deliveries' }).click();
    await page.getByRole('cell', { name: 'pending' }).first().waitFor();
    await shot('15-webhook-deliveries');

    await page.getByRole('link', { name: 'DPA' }).click();
    await page.getByLabel('Signatory entity').fill('Acme GmbH');
    await page.getByLabel('Countries of processing (ISO codes, comma-separated)').fill('DE, GB');
    await page.getByLabel('Governing law').fill('Ireland');
    await page.getByRole('button', { name: 'Request DPA' }).click();
    await page
      .getByText(/Standard Contractual Clauses|SCC/)
      .first()
      .waitFor();
    await shot('16-dpa-answer');

    const day = (n: number) => new Date(clock.now().getTime() - n * 86_400_000);
    for (const [vendor, n] of [
      ['openai', 1],
      ['openai', 2],
      ['meta', 1],
      ['tiktok', 3],
    ] as const)
      await t.db.systemPool.query(
        `INSERT INTO egress_ledger (id, org_id, vendor, host, purpose, data_classes, records, bytes_out, bytes_in,
           attempts, status, outcome, latency_ms, created_at)
         VALUES (gen_random_uuid(), $1, $2, $3, 'llm', ARRAY['project_content'], 1, 100, 200, 1, 200, 'ok', 12, $4)`,
        [org.id, vendor, `api.${vendor}.com`, day(n)],
      );
    await page.getByRole('link', { name: 'Sub-processors' }).click();
    const chart = page.getByRole('img', { name: 'Calls per vendor per day' });
    await chart.waitFor();
    expect(await chart.locator('rect').count()).toBe(3 * 3);
    await page.getByText('openai', { exact: true }).waitFor();
  });

  it('shows the main screens and expires the session after 30 idle minutes', async () => {
    for (const [link, name] of [
      ['Retention', '10-retention'],
      ['Sub-processors', '11-subprocessors'],
      ['Members', '12-members'],
      ['My account', '13-my-account'],
    ] as const) {
      await page.getByRole('link', { name: link }).click();
      await page
        .getByRole('heading', { name: link === 'Sub-processors' ? 'Sub-processors' : link })
        .first()
        .waitFor();
      await page.waitForLoadState('networkidle');
      await shot(name);
    }
    clock.advance(31 * 60_000);
    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByText('Your session has ended').waitFor();
    await page.getByRole('heading', { name: 'Sign in to Layers' }).waitFor();
    await shot('14-session-expired');

    // Signing in again with the keyboard only: Tab between fields, Enter submits.
    await page.getByLabel('Email').focus();
    await page.keyboard.type('owner@acme.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByLabel('Code from your authenticator app (or a recovery code)').waitFor();
    clock.advance(30_000);
    await page.keyboard.press('Tab');
    await page.keyboard.type(await totpCode(totpSecret, clock.now()));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    // Tab from the focused screen reaches the navigation in order, and Enter follows a link.
    await page.getByRole('link', { name: 'Audit log' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  });
});
