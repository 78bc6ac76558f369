import type { Config } from '../../config.ts';
import type { RetentionMode } from './provider-port.ts';

/**
 * The retention mode in force per content-generation provider, stated on every generation and on
 * the data-protection page from this one function: `default` sends nothing anywhere
 * (zero_retention); a vendor the operator has a zero-data-retention agreement with
 * (LAYERS_LLM_ZDR_VENDORS) is zero_retention; otherwise no_training (none of the three trains on API
 * data; OpenAI also gets `store: false` on every call). The narrowest prompt applies to all.
 */
export type LlmRetention = {
  provider: string;
  vendor: string;
  configured: boolean;
  mode: RetentionMode;
  note: string;
};

export function llmRetentionModes(config: Pick<Config, 'generation'>): LlmRetention[] {
  const g = config.generation;
  const mode = (p: string): RetentionMode => (g.zdrVendors.includes(p) ? 'zero_retention' : 'no_training');
  return [
    {
      provider: 'default',
      vendor: 'none (offline)',
      configured: true,
      mode: 'zero_retention',
      note: 'Runs on this deployment; nothing leaves it.',
    },
    {
      provider: 'openai',
      vendor: 'OpenAI',
      configured: g.openai !== undefined,
      mode: mode('openai'),
      note: '`store: false` on every call; API data is not used for training.',
    },
    {
      provider: 'anthropic',
      vendor: 'Anthropic',
      configured: g.anthropic !== undefined,
      mode: mode('anthropic'),
      note: 'No per-request retention switch; API data is not used for training.',
    },
    {
      provider: 'vertex',
      vendor: 'Google Cloud Vertex AI',
      configured: g.vertex !== undefined,
      mode: mode('vertex'),
      note: 'No Search grounding (no tools); training restriction of the service terms.',
    },
  ];
}
