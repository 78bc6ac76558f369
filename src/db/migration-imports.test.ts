import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Shipped migrations are frozen: runtime code must never import from one, or changing runtime
 * behaviour would mean editing a migration that has already run somewhere. Only the migrator reads
 * them, through the index.
 */
const SRC = path.resolve(import.meta.dirname, '..');
const MIGRATIONS = path.join(SRC, 'db', 'migrations');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('migrations are frozen', () => {
  it('no runtime module imports a migration file (only the migrator reads the index)', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      if (file.startsWith(`${MIGRATIONS}${path.sep}`)) continue;
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
        const target = path.resolve(path.dirname(file), match[1] as string);
        if (!target.startsWith(`${MIGRATIONS}${path.sep}`)) continue;
        if (path.basename(target) === 'index.ts' && file === path.join(SRC, 'db', 'migrate.ts')) continue;
        offenders.push(`${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
