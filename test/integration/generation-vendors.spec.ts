import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildPrompt } from '../../src/modules/generation/prompt-builder.ts';
import { createVendorProviders } from '../../src/modules/generation/vendor-providers.ts';
import { startAnthropicFake } from '../fakes/anthropic/anthropic-fake.ts';
import type { FailureMode, LlmFake } from '../fakes/llm-fake-common.ts';
import { startOpenAiFake } from '../fakes/openai/openai-fake.ts';
import { startVertexFake } from '../fakes/vertex/vertex-fake.ts';
import { BRIEF, getJson, mediaDir, startGeneration } from '../helpers/generation-helpers.ts';
import { identifyEvent, sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { createSdkProject, createTestApp, type SdkProject, type TestApp } from '../helpers/test-app.ts';

/**
 * The vendor providers against fakes of their APIs (which check each request as the vendor documents
 * it: OpenAI `store: false`, Vertex without tools/grounding, Anthropic's headers), through the
 * egress gateway (ledger rows with purpose llm), with canaries planted in the project's events and
 * profiles that never reach any fake, and vendor failures mapped to clear error codes.
 */
const CANARY = {
  email: 'canary.gen7731@example.org',
  phone: '+14155550199',
  userId: 'u_canary_gen_5521',
  property: 'CANARY-PROP-8842',
};

type Vendor = 'openai' | 'anthropic' | 'vertex';

describe('vendor providers', () => {
  let t: TestApp;
  let p: SdkProject;
  const fakes = {} as Record<Vendor, LlmFake>;

  beforeAll(async () => {
    fakes.openai = await startOpenAiFake();
    fakes.anthropic = await startAnthropicFake();
    fakes.vertex = await startVertexFake('layers-test', 'us-central1');
    const dir = mediaDir();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const credentials = path.join(dir, 'service-account.json');
    writeFileSync(
      credentials,
      JSON.stringify({
        type: 'service_account',
        client_email: 'layers@layers-test.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      }),
    );
    t = await createTestApp({
      env: {
        LAYERS_MEDIA_DIR: dir,
        OPENAI_API_KEY: 'sk-test-openai',
        ANTHROPIC_API_KEY: 'sk-ant-test',
        GOOGLE_VERTEX_PROJECT: 'layers-test',
        GOOGLE_VERTEX_LOCATION: 'us-central1',
        GOOGLE_APPLICATION_CREDENTIALS: credentials,
        LAYERS_GENERATION_MAX_ATTEMPTS: '1',
        LAYERS_LLM_TIMEOUT_MS: '1500',
        LAYERS_LLM_ZDR_VENDORS: 'anthropic',
        LAYERS_EGRESS_REDIRECT: [
          `api.openai.com=${fakes.openai.url}`,
          `api.anthropic.com=${fakes.anthropic.url}`,
          `us-central1-aiplatform.googleapis.com=${fakes.vertex.url}`,
          `oauth2.googleapis.com=${fakes.vertex.url}`,
        ].join(','),
      },
    });
    p = await createSdkProject(t.app);
    // Canaries in the project's events and profiles: none may reach a vendor.
    await sendEvents(t.app, p.publishableKey, [
      identifyEvent(CANARY.userId, { email: CANARY.email, phone: CANARY.phone, plan: CANARY.property }),
      trackEvent(CANARY.userId, 'purchase', { note: CANARY.property }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await Promise.all(Object.values(fakes).map((f) => f.close()));
  });
  beforeEach(() => {
    for (const f of Object.values(fakes)) f.fail('none');
  });

  async function generate(provider: Vendor) {
    const res = await startGeneration(t, p.org, p.projectId, { brief: BRIEF, provider, outputs: ['copy'] });
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;
    await t.container.generations.run(p.org.id, id, 1);
    return (await getJson(t, p.org, `/v1/generations/${id}`)).body;
  }

  for (const vendor of ['openai', 'anthropic', 'vertex'] as const) {
    it(`${vendor}: copy through the gateway, the request as the vendor documents it, no canary`, async () => {
      const before = fakes[vendor].requests.length;
      const g = await generate(vendor);
      expect(g.status).toBe('succeeded');
      expect(g.copy).toHaveLength(3);
      expect(g.copy[0].headline).toBe('Cold brew, ready when you are');
      expect(g.retention_mode).toBe(vendor === 'anthropic' ? 'zero_retention' : 'no_training');
      expect(fakes[vendor].requests.length).toBeGreaterThan(before);
      expect(fakes[vendor].violations).toEqual([]);
      const bytes = fakes[vendor].allBytes();
      expect(bytes).toContain('Acme Cold Brew');
      for (const canary of Object.values(CANARY)) expect(bytes).not.toContain(canary);
      // The ledger writer batches its rows: poll (bounded) until this call's row is committed.
      let rows: unknown[] = [];
      for (let i = 0; i < 50; i++) {
        rows = (
          await t.db.systemPool.query(
            "SELECT vendor, purpose, data_classes, outcome FROM egress_ledger WHERE project_id = $1 AND purpose = 'llm'",
            [p.projectId],
          )
        ).rows;
        if (
          rows.some(
            (r) => (r as { vendor: string }).vendor === (vendor === 'vertex' ? 'google_vertex' : vendor),
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows).toContainEqual({
        vendor: vendor === 'vertex' ? 'google_vertex' : vendor,
        purpose: 'llm',
        data_classes: ['project_content'],
        outcome: 'ok',
      });
    });
  }

  it('openai sends store: false on every call', () => {
    const bodies = fakes.openai.requests.map((r) => JSON.parse(r.body.toString('utf8')));
    expect(bodies.length).toBeGreaterThan(0);
    for (const b of bodies) expect(b.store).toBe(false);
  });

  it('vertex sends no tools (no Search grounding) and fetches its token through the gateway', () => {
    const calls = fakes.vertex.requests.filter((r) => r.url.includes(':generateContent'));
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(JSON.parse(c.body.toString('utf8')).tools).toBeUndefined();
    expect(fakes.vertex.requests.some((r) => r.url === '/token')).toBe(true);
  });

  const failures: [FailureMode, string][] = [
    ['rate_limit', 'vendor_rate_limited'],
    ['server_error', 'vendor_unavailable'],
    ['auth', 'vendor_auth_failed'],
    ['slow', 'vendor_timeout'],
    ['bad_output', 'vendor_invalid_output'],
  ];
  for (const vendor of ['openai', 'anthropic', 'vertex'] as const)
    for (const [mode, code] of failures)
      it(`${vendor} ${mode} → failed with ${code}`, async () => {
        fakes[vendor].fail(mode);
        const g = await generate(vendor);
        expect(g.status).toBe('failed');
        expect(g.error.code).toBe(code);
        expect(JSON.stringify(g.error)).not.toContain('Acme Cold Brew');
      });

  it('states the retention mode in force per provider on the data-protection page', async () => {
    const page = (await t.app.inject({ method: 'GET', url: '/data-protection' })).body;
    const row = (provider: string) =>
      new RegExp(`data-provider="${provider}">${provider}</td>.*?data-retention-mode="([a-z_]+)"`);
    expect(page.match(row('default'))?.[1]).toBe('zero_retention');
    expect(page.match(row('openai'))?.[1]).toBe('no_training');
    expect(page.match(row('anthropic'))?.[1]).toBe('zero_retention');
    expect(page.match(row('vertex'))?.[1]).toBe('no_training');
  });

  it('the egress content guard refuses a prompt that carries an end-customer identifier (nothing sent)', async () => {
    const providers = createVendorProviders({ config: t.config, egress: t.container.egress });
    const before = fakes.openai.requests.length;
    const prompt = buildPrompt({ product: `Acme for ${CANARY.email}` });
    const error = await providers.openai
      ?.generateCopy({
        orgId: p.org.id,
        projectId: p.projectId,
        prompt,
        brief: { product: 'x' },
        variants: 3,
      })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('content_refused');
    expect(fakes.openai.requests.length).toBe(before);
  });

  it('emits generation.failed with the code', async () => {
    const events = await t.db.systemPool.query(
      "SELECT data->>'error_code' AS code FROM webhook_events WHERE type = 'generation.failed'",
    );
    expect(events.rows.map((r) => r.code)).toContain('vendor_timeout');
  });
});
