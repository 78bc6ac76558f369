import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** SHA-256 over the console's sources (what build-info.json records; a test compares the two). */
export function sourceDigest(root: string): string {
  const files = [
    'index.html',
    'vite.config.ts',
    'source-digest.ts',
    ...readdirSync(path.join(root, 'src')).map((f) => `src/${f}`),
  ].sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(path.join(root, f)));
  return hash.digest('hex');
}
