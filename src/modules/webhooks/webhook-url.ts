import { AppError } from '../../lib/errors.ts';
import { sha256Hex } from '../../lib/hashing.ts';

/**
 * How an endpoint URL is recorded where it outlives the endpoint (the audit log, kept for the whole
 * partnership): its host and the SHA-256 (hex) of the whole URL as stored, never the path or query,
 * which often carry the receiver's token (Slack, Zapier). A partner can still tell which URL an
 * entry was about by hashing theirs. Migration 0012 applied the same form to older entries.
 */
export type AuditedUrl = { host: string; sha256: string };

export function auditedUrl(url: string): AuditedUrl {
  return { host: new URL(url).host, sha256: sha256Hex(url) };
}

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
