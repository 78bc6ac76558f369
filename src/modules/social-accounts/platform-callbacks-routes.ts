import { createHash } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import { errorResponses } from '../../http/schemas.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { parseMetaSignedRequest, verifyTikTokSignature } from '../../platforms/platform-signatures.ts';
import type { SocialRevocation } from './social-revocation.ts';

/**
 * The platforms' callbacks (no key: the platform's signature is the credential; a bad one answers
 * 401). Meta's deauthorize and data-deletion callbacks (form-encoded `signed_request`) revoke every
 * account that the named Facebook user's login granted (data deletion also deletes their synced post
 * metadata) and answer data deletion with `{"url", "confirmation_code"}` as Meta requires. TikTok's
 * webhook `authorization.removed` revokes the accounts of that `user_openid`; other TikTok events
 * are acknowledged and ignored.
 */
const tags = ['Platform callbacks'];
const FORM_LIMIT = 16 * 1024;

export function registerPlatformCallbackRoutes(
  app: AppInstance,
  deps: {
    revocation: SocialRevocation;
    clock: Clock;
    publicUrl: string;
    meta: { appSecret: string } | undefined;
    tiktok: { clientKey: string; clientSecret: string } | undefined;
  },
): void {
  const { revocation, clock } = deps;
  const unauthorized = () => new AppError('invalid_api_key', 'The platform signature is missing or invalid.');

  function metaUser(body: unknown): string {
    const signed = (body as { signed_request?: unknown } | null)?.signed_request;
    if (!deps.meta || typeof signed !== 'string') throw unauthorized();
    const payload = parseMetaSignedRequest(signed, deps.meta.appSecret);
    const userId = payload?.user_id;
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 200) throw unauthorized();
    return userId;
  }

  app.register(async (plugin) => {
    const child = plugin.withTypeProvider<TypeBoxTypeProvider>();
    child.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: FORM_LIMIT },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    // TikTok signs the raw body: this route reads it as text and parses it after the check.
    child.removeContentTypeParser('application/json');
    child.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: FORM_LIMIT },
      (_req, body, done) => done(null, body),
    );
    const FormBody = Type.Object({ signed_request: Type.Optional(Type.String({ maxLength: 8192 })) });

    child.post(
      '/v1/platform-callbacks/meta/deauthorize',
      {
        config: { auth: 'none' },
        schema: {
          tags,
          summary:
            "Meta's deauthorize callback (signed_request): revokes the accounts that user's login granted",
          body: FormBody,
          response: { 200: Type.Object({ revoked: Type.Integer() }), ...errorResponses(400, 401, 413, 415) },
        },
      },
      async (req) => {
        const userId = metaUser(req.body);
        const revoked = await revocation.revokeFromPlatform(
          { platforms: ['facebook', 'instagram'], grantUserId: userId },
          { deletePosts: false },
        );
        return { revoked };
      },
    );

    child.post(
      '/v1/platform-callbacks/meta/data-deletion',
      {
        config: { auth: 'none' },
        schema: {
          tags,
          summary:
            "Meta's data-deletion callback (signed_request): revokes the user's accounts and deletes their post metadata",
          body: FormBody,
          response: {
            200: Type.Object({ url: Type.String(), confirmation_code: Type.String() }),
            ...errorResponses(400, 401, 413, 415),
          },
        },
      },
      async (req) => {
        const userId = metaUser(req.body);
        await revocation.revokeFromPlatform(
          { platforms: ['facebook', 'instagram'], grantUserId: userId },
          { deletePosts: true },
        );
        // Alphanumeric, not the user id: a hash of it with the time, so the user can quote it.
        const code = createHash('sha256')
          .update(`${userId}:${clock.now().getTime()}`)
          .digest('hex')
          .slice(0, 20);
        return {
          url: `${deps.publicUrl}/v1/platform-callbacks/meta/data-deletion/${code}`,
          confirmation_code: code,
        };
      },
    );

    child.get(
      '/v1/platform-callbacks/meta/data-deletion/:code',
      {
        config: { auth: 'none' },
        schema: {
          tags,
          summary: 'Status of a Meta data-deletion request (carried out when it was received)',
          params: Type.Object({ code: Type.String({ pattern: '^[0-9a-f]{20}$' }) }),
          response: {
            200: Type.Object({
              confirmation_code: Type.String(),
              status: Type.Literal('completed'),
              message: Type.String(),
            }),
            ...errorResponses(400),
          },
        },
      },
      async (req) => ({
        confirmation_code: req.params.code,
        status: 'completed' as const,
        message:
          'Layers carries out deletion requests when it receives them: the connected accounts were revoked, their tokens deleted and their synced post metadata erased.',
      }),
    );

    child.post(
      '/v1/platform-callbacks/tiktok',
      {
        config: { auth: 'none' },
        schema: {
          tags,
          summary:
            'TikTok webhooks (TikTok-Signature checked); authorization.removed revokes the accounts of that user',
          response: { 200: Type.Object({ received: Type.Boolean() }), ...errorResponses(400, 401, 413, 415) },
        },
      },
      async (req) => {
        const raw = typeof req.body === 'string' ? req.body : '';
        const header = req.headers['tiktok-signature'];
        if (
          !deps.tiktok ||
          !verifyTikTokSignature(
            Array.isArray(header) ? header[0] : header,
            raw,
            deps.tiktok.clientSecret,
            Math.floor(clock.now().getTime() / 1000),
          )
        )
          throw unauthorized();
        let event: { event?: unknown; user_openid?: unknown; client_key?: unknown };
        try {
          event = JSON.parse(raw) as typeof event;
        } catch {
          throw new AppError('invalid_request', 'The body is not JSON.');
        }
        if (event.client_key !== undefined && event.client_key !== deps.tiktok.clientKey)
          throw unauthorized();
        if (
          event.event === 'authorization.removed' &&
          typeof event.user_openid === 'string' &&
          event.user_openid.length <= 200
        )
          await revocation.revokeFromPlatform(
            { platforms: ['tiktok'], platformUserId: event.user_openid },
            { deletePosts: false },
          );
        return { received: true };
      },
    );
  });
}
