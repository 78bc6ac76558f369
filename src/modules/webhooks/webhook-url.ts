import { AppError } from '../../lib/errors.ts';

/**
 * Shape checks on a webhook endpoint URL at creation. (Where the host resolves to is checked by the
 * delivery side's address guard, at creation and again at connection time.)
 */
export function validateWebhookUrl(raw: string, opts: { requireHttps: boolean }): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('parameter_invalid', 'url must be an absolute http(s) URL.', { param: 'url' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('parameter_invalid', 'url must use https.', { param: 'url' });
  }
  if (opts.requireHttps && url.protocol !== 'https:') {
    throw new AppError('parameter_invalid', 'url must use https.', { param: 'url' });
  }
  if (url.username || url.password) {
    throw new AppError(
      'parameter_invalid',
      'url must not contain credentials; verify requests with the signing secret instead.',
      {
        param: 'url',
      },
    );
  }
  if (url.hash) throw new AppError('parameter_invalid', 'url must not contain a fragment.', { param: 'url' });
  return url.toString();
}
