import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SDK_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const REPO_DIR = path.resolve(SDK_DIR, '..');
const TSC = path.join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Compiles the SDK exactly as `npm run build` does (sdk/tsconfig.build.json), optionally into
 * another directory so that parallel test files never write the same dist/ at once.
 */
export function buildSdk(outDir?: string): void {
  const args = [TSC, '-p', path.join(SDK_DIR, 'tsconfig.build.json')];
  if (outDir) args.push('--outDir', outDir);
  const result = spawnSync(process.execPath, args, { cwd: REPO_DIR, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`SDK build failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** Relative paths of all files under `dir`. */
export function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.posix.join(prefix, entry.name);
    return entry.isDirectory() ? listFiles(dir, rel) : [rel];
  });
}
