import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/**
 * An S3-compatible server for the S3 media store's tests: s3rver (npm, pure JavaScript) on
 * 127.0.0.1 with one bucket and files in a temporary directory. It parses each request's SigV4
 * Authorization header and refuses unknown access keys (S3RVER / S3RVER is known), but does not
 * recompute v4 signatures (its own code says so), so the signature itself is the AWS SDK's.
 */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const BUCKET = 'layers-media';

export async function startS3rver(): Promise<{ url: string; directory: string; close(): Promise<void> }> {
  const directory = mkdtempSync(path.join(tmpdir(), 'layers-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    allowMismatchedSignatures: false,
    configureBuckets: [{ name: BUCKET }],
  });
  const address = (await server.run()) as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    directory,
    close: () => server.close() as Promise<void>,
  };
}
