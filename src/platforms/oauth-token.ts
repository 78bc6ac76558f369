import type { EgressGateway } from '../egress/egress-gateway.ts';
import type { EgressCall } from '../egress/egress-types.ts';
import { callJson, oauthErrorInfo } from './platform-http.ts';
import {
  type CallContext,
  expiryFrom,
  PlatformError,
  type StoredCredentials,
  type TokenSet,
} from './social-platform.ts';

/** The fields of an OAuth 2 token response the adapters store. */
export type OAuthTokenResponse = {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
};

/**
 * One form-encoded POST to a vendor's token endpoint: the public part of the form (`client_id` /
 * `client_key`, `grant_type`) as the body, the secret part (client secret, code, refresh token) as
 * credentials, errors read as OAuth 2 error bodies.
 */
export function postTokenForm<T>(
  egress: EgressGateway,
  ctx: CallContext,
  call: {
    vendor: EgressCall['vendor'];
    url: string;
    headers?: Record<string, string>;
    form: Record<string, string>;
    secret: Record<string, string>;
  },
): Promise<T> {
  return callJson<T>(
    egress,
    {
      ...ctx,
      vendor: call.vendor,
      purpose: 'oauth',
      dataClasses: ['oauth_credentials'],
      records: 1,
      method: 'POST',
      url: call.url,
      ...(call.headers ? { headers: call.headers } : {}),
      body: { form: call.form },
      credentials: { form: call.secret },
    },
    oauthErrorInfo,
  );
}

/**
 * A token response as a TokenSet: a response without a new refresh token keeps `previousRefresh`;
 * lifetimes come from the response's own seconds.
 */
export function tokenSetOf(
  now: () => Date,
  body: OAuthTokenResponse,
  refreshExpiresIn: unknown,
  scopeSeparator: string,
  previousRefresh: string | null,
): TokenSet {
  return {
    accessToken: body.access_token as string,
    refreshToken: body.refresh_token ?? previousRefresh,
    expiresAt: expiryFrom(now(), body.expires_in),
    refreshExpiresAt: expiryFrom(now(), refreshExpiresIn),
    scopes: (body.scope ?? '').split(scopeSeparator).filter(Boolean),
  };
}

/** The stored refresh token, or a reauth error when there is none. */
export function requireRefreshToken(vendor: string, credentials: StoredCredentials): string {
  if (!credentials.refreshToken)
    throw new PlatformError('reauth', `${vendor} oauth call failed (reauth: no_refresh_token)`);
  return credentials.refreshToken;
}
