import type { AdCopy } from '../../rendering/ad-template.ts';
import type { Brief, BuiltPrompt } from './prompt-builder.ts';

/**
 * The one port every copy provider implements: the offline `default` and the vendors (OpenAI,
 * Anthropic, Vertex AI) through the AI SDK and the egress gateway. A provider receives the built
 * prompt (and, for the offline one, the declared brief it was built from) and returns copy variants.
 */
export type ProviderName = 'default' | 'openai' | 'anthropic' | 'vertex';
export type RetentionMode = 'zero_retention' | 'no_training' | 'narrowest_prompt';

export type CopyRequest = {
  orgId: string;
  projectId: string;
  prompt: BuiltPrompt;
  brief: Brief;
  variants: number;
};

export type CopyProvider = {
  name: ProviderName;
  model: string;
  retentionMode: RetentionMode;
  generateCopy(req: CopyRequest): Promise<AdCopy[]>;
};

/** A generation's failure, with the clear code it reports (`error.code`) and whether a retry may help. */
export type GenerationErrorCode =
  | 'vendor_timeout'
  | 'vendor_rate_limited'
  | 'vendor_unavailable'
  | 'vendor_auth_failed'
  | 'vendor_rejected'
  | 'vendor_invalid_output'
  | 'content_refused'
  | 'egress_refused'
  | 'ffmpeg_missing'
  | 'render_failed'
  | 'media_store_failed'
  | 'internal_error';

export class GenerationError extends Error {
  readonly code: GenerationErrorCode;
  readonly retryable: boolean;
  constructor(code: GenerationErrorCode, message: string, retryable = false) {
    super(message);
    this.name = 'GenerationError';
    this.code = code;
    this.retryable = retryable;
  }
}
