import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleVertex } from '@ai-sdk/google-vertex';
import { createOpenAI } from '@ai-sdk/openai';
import {
  APICallError,
  generateText,
  jsonSchema,
  type LanguageModel,
  NoObjectGeneratedError,
  Output,
} from 'ai';
import type { Config } from '../../config.ts';
import { EgressError } from '../../egress/egress-error.ts';
import { createEgressFetch } from '../../egress/egress-fetch.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { AdCopy } from '../../rendering/ad-template.ts';
import {
  type CopyProvider,
  type CopyRequest,
  GenerationError,
  type ProviderName,
  type RetentionMode,
} from './provider-port.ts';
import { llmRetentionModes } from './retention-modes.ts';
import { createVertexTokenSource } from './vertex-token.ts';

/**
 * The vendor providers (OpenAI, Anthropic, Vertex AI) through the AI SDK, each an explicit provider
 * instance whose `baseURL` is the vendor's real host and whose `fetch` is the egress gateway
 * (createEgressFetch: allowlist, content guard on purpose `llm`, ledger). Never a bare model string
 * (it would resolve through the AI SDK's gateway). Structured output with a JSON schema; no SDK
 * retries (the job retries a retryable failure); one deadline per call (LAYERS_LLM_TIMEOUT_MS).
 *
 * Retention: OpenAI gets `store: false` on every call; Vertex gets no tools at all (so no Search
 * grounding); Anthropic and Vertex have no per-request retention switch. The mode stated on each
 * generation is `zero_retention` for a vendor listed in LAYERS_LLM_ZDR_VENDORS (the operator's
 * agreement), else `no_training` (all three do not train on API data); the narrowest prompt applies
 * to every vendor regardless.
 */
const VARIANTS_SCHEMA = jsonSchema<{ variants: AdCopy[] }>({
  type: 'object',
  properties: {
    variants: {
      type: 'array',
      minItems: 1,
      maxItems: 5,
      items: {
        type: 'object',
        properties: {
          headline: { type: 'string' },
          body: { type: 'string' },
          call_to_action: { type: 'string' },
        },
        required: ['headline', 'body', 'call_to_action'],
        additionalProperties: false,
      },
    },
  },
  required: ['variants'],
  additionalProperties: false,
});

const VENDOR_ID: Record<Exclude<ProviderName, 'default'>, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  vertex: 'google_vertex',
};

/** Maps what went wrong to the generation's clear error code (never the vendor's text: it may echo the prompt). */
export function vendorFailure(vendor: string, error: unknown): GenerationError {
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e && !seen.has(e)) {
    seen.add(e);
    if (e instanceof GenerationError) return e;
    if (e instanceof EgressError) {
      if (e.code === 'timeout')
        return new GenerationError('vendor_timeout', `${vendor} did not answer in time.`, true);
      if (e.code === 'content_refused')
        return new GenerationError(
          'content_refused',
          `The prompt for ${vendor} was refused: it looked like it carried personal data.`,
        );
      if (e.code === 'network_error')
        return new GenerationError('vendor_unavailable', `${vendor} could not be reached.`, true);
      return new GenerationError(
        'egress_refused',
        `The call to ${vendor} was refused by the egress gateway (${e.code}).`,
      );
    }
    if (APICallError.isInstance(e)) {
      const s = e.statusCode ?? 0;
      if (s === 401 || s === 403)
        return new GenerationError(
          'vendor_auth_failed',
          `${vendor} refused the API credentials (HTTP ${s}).`,
        );
      if (s === 429)
        return new GenerationError(
          'vendor_rate_limited',
          `${vendor} rate-limited the request (HTTP 429).`,
          true,
        );
      if (s >= 500 || s === 408)
        return new GenerationError('vendor_unavailable', `${vendor} failed (HTTP ${s}).`, true);
      return new GenerationError('vendor_rejected', `${vendor} rejected the request (HTTP ${s}).`);
    }
    if (NoObjectGeneratedError.isInstance(e))
      return new GenerationError(
        'vendor_invalid_output',
        `${vendor} answered without copy matching the schema.`,
        true,
      );
    if ((e as { name?: string }).name === 'TimeoutError' || (e as { name?: string }).name === 'AbortError')
      return new GenerationError('vendor_timeout', `${vendor} did not answer in time.`, true);
    e = (e as { cause?: unknown; lastError?: unknown }).lastError ?? (e as { cause?: unknown }).cause;
  }
  return new GenerationError(
    'vendor_invalid_output',
    `${vendor} answered in a way that could not be read.`,
    true,
  );
}

function tidy(copy: AdCopy[], variants: number): AdCopy[] {
  const out = copy
    .slice(0, variants)
    .map((c) => ({
      headline: c.headline.trim().slice(0, 90),
      body: c.body.trim().slice(0, 220),
      call_to_action: c.call_to_action.trim().slice(0, 40),
    }))
    .filter((c) => c.headline && c.body && c.call_to_action);
  if (out.length === 0)
    throw new GenerationError('vendor_invalid_output', 'The vendor returned empty copy.', true);
  return out;
}

export function createVendorProviders(deps: {
  config: Config;
  egress: Pick<EgressGateway, 'request'>;
}): Partial<Record<ProviderName, CopyProvider>> {
  const { config, egress } = deps;
  const g = config.generation;
  const modes = llmRetentionModes(config);
  const modeOf = (name: string): RetentionMode =>
    modes.find((m) => m.provider === name)?.mode ?? 'narrowest_prompt';
  const fetchFor = (vendor: string, req: CopyRequest) =>
    createEgressFetch(egress, () => ({
      orgId: req.orgId,
      projectId: req.projectId,
      vendor,
      purpose: 'llm',
      dataClasses: ['project_content'],
      records: 1,
      timeoutMs: g.llmTimeoutMs,
      maxAttempts: 1,
    }));

  function provider(
    name: Exclude<ProviderName, 'default'>,
    modelId: string,
    model: (req: CopyRequest) => LanguageModel,
    providerOptions: (req: CopyRequest) => Record<string, Record<string, string | boolean | number>>,
  ): CopyProvider {
    return {
      name,
      model: modelId,
      retentionMode: modeOf(name),
      async generateCopy(req) {
        try {
          const result = await generateText({
            model: model(req),
            instructions: req.prompt.system,
            prompt: req.prompt.user,
            output: Output.object({ schema: VARIANTS_SCHEMA }),
            maxRetries: 0,
            abortSignal: AbortSignal.timeout(g.llmTimeoutMs),
            providerOptions: providerOptions(req),
          });
          return tidy(result.output.variants, req.variants);
        } catch (error) {
          throw vendorFailure(name, error);
        }
      },
    };
  }

  const out: Partial<Record<ProviderName, CopyProvider>> = {};
  if (g.openai) {
    const { apiKey, model } = g.openai;
    out.openai = provider(
      'openai',
      model,
      (req) =>
        createOpenAI({
          apiKey,
          baseURL: 'https://api.openai.com/v1',
          fetch: fetchFor(VENDOR_ID.openai, req),
        })(model),
      // The Responses API stores responses unless told not to.
      () => ({ openai: { store: false } }),
    );
  }
  if (g.anthropic) {
    const { apiKey, model } = g.anthropic;
    out.anthropic = provider(
      'anthropic',
      model,
      (req) =>
        createAnthropic({
          apiKey,
          baseURL: 'https://api.anthropic.com/v1',
          fetch: fetchFor(VENDOR_ID.anthropic, req),
        })(model),
      () => ({}),
    );
  }
  if (g.vertex) {
    const { project, location, model } = g.vertex;
    const token = createVertexTokenSource({ egress, credentialsFile: g.vertex.credentialsFile });
    const host =
      location === 'global' ? 'aiplatform.googleapis.com' : `${location}-aiplatform.googleapis.com`;
    out.vertex = provider(
      'vertex',
      model,
      (req) =>
        createGoogleVertex({
          project,
          location,
          baseURL: `https://${host}/v1/projects/${project}/locations/${location}/publishers/google`,
          fetch: fetchFor(VENDOR_ID.vertex, req),
          // Our token (minted through the gateway); google-auth-library is never asked for one.
          googleAuthOptions: {
            authClient: { getAccessToken: async () => ({ token: await token(req) }) } as never,
          },
        })(model),
      () => ({}),
    );
  }
  return out;
}
