import { Counter, type Registry } from 'prom-client';

/** Social-account metrics. Labels: the platform and an outcome, closed sets; never an id or handle. */
export function createSocialMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    refreshes: new Counter({
      name: 'layers_social_token_refreshes_total',
      help: 'Token refresh calls to the platforms, by platform and outcome (refreshed, reauth, transient)',
      labelNames: ['platform', 'outcome'] as const,
      registers,
    }),
    syncs: new Counter({
      name: 'layers_social_post_syncs_total',
      help: 'Post metadata syncs, by platform and outcome (synced, rate_limited, failed)',
      labelNames: ['platform', 'outcome'] as const,
      registers,
    }),
  };
}

export type SocialMetrics = ReturnType<typeof createSocialMetrics>;
