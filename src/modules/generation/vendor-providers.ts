import type { Config } from '../../config.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { CopyProvider, ProviderName } from './provider-port.ts';

/** The vendor providers that are configured (none without their keys). */
export function createVendorProviders(_deps: {
  config: Config;
  egress: EgressGateway;
}): Partial<Record<ProviderName, CopyProvider>> {
  return {};
}
