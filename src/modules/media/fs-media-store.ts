import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KEY_PATTERN, type MediaStore } from './media-store.ts';

/**
 * The default media store: files under LAYERS_MEDIA_DIR at their content-addressed keys. Writes go to
 * a temporary file in the same directory and are renamed into place, so a reader never sees half an
 * object; reads stream from disk. The file is fsync'd before the rename, and its directory (with the
 * parents of any directory made for it) after: the media row committed next says the object exists,
 * and a power cut must not leave that row naming an empty or missing file (ext4 and XFS may
 * otherwise persist the rename before the data).
 */
async function fsync(file: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(file, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function createFsMediaStore(root: string): MediaStore {
  const fileOf = (key: string) => {
    if (!KEY_PATTERN.test(key)) throw new Error('invalid media key');
    return path.join(root, key);
  };
  return {
    kind: 'fs',
    async put(_ctx, key, source) {
      const file = fileOf(key);
      const dir = path.dirname(file);
      // A directory made here is itself an entry in its parent: the parents up to the first one made
      // are fsync'd too, or a power cut could keep the file and lose the path to it.
      const made = await mkdir(dir, { recursive: true });
      if (made !== undefined)
        for (let d = path.dirname(dir); ; d = path.dirname(d)) {
          await fsync(d, 'r');
          if (d === path.dirname(made)) break;
        }
      const tmp = `${file}.${randomUUID()}.tmp`;
      try {
        await pipeline(createReadStream(source.file), createWriteStream(tmp, { mode: 0o600 }));
        await fsync(tmp, 'r+');
        await rename(tmp, file);
        await fsync(dir, 'r');
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async get(_ctx, key) {
      const file = fileOf(key);
      try {
        const s = await stat(file);
        return { stream: createReadStream(file), bytes: s.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async exists(_ctx, key) {
      try {
        await stat(fileOf(key));
        return true;
      } catch {
        return false;
      }
    },
    async delete(_ctx, key) {
      await rm(fileOf(key), { force: true });
    },
    async list(_ctx, prefix) {
      const dir = path.join(root, prefix);
      const out: string[] = [];
      async function walk(d: string): Promise<void> {
        let entries: import('node:fs').Dirent[];
        try {
          entries = await readdir(d, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          const full = path.join(d, e.name);
          if (e.isDirectory()) await walk(full);
          else if (!e.name.endsWith('.tmp')) out.push(path.relative(root, full).split(path.sep).join('/'));
        }
      }
      await walk(dir);
      return out.sort();
    },
  };
}
