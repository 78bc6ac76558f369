import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import {
  createEnvelope,
  type Envelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from './envelope-crypto.ts';

/**
 * The key-encryption key comes from LAYERS_ENCRYPTION_KEY. In development only, one is generated into
 * the data dir (mode 0600) and announced loudly, because losing it makes every stored secret unreadable.
 */
export async function loadEnvelope(config: Config, warn: (msg: string) => void): Promise<Envelope> {
  if (config.encryptionKey) return createEnvelope(parseKeyEncryptionKeys(config.encryptionKey));
  if (config.env === 'production') {
    throw new Error(
      'LAYERS_ENCRYPTION_KEY is required in production (base64 of 32 random bytes; `openssl rand -base64 32`)',
    );
  }
  const file = path.join(config.dataDir, 'encryption.key');
  let key: string;
  try {
    key = (await readFile(file, 'utf8')).trim();
  } catch {
    key = generateKeyEncryptionKey();
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' }).catch(async () => {
      key = (await readFile(file, 'utf8')).trim();
    });
    warn(
      `DEVELOPMENT ENCRYPTION KEY generated at ${file}. Secrets stored by this instance are encrypted with it: ` +
        'back it up, and set LAYERS_ENCRYPTION_KEY in production.',
    );
  }
  await chmod(file, 0o600);
  return createEnvelope(parseKeyEncryptionKeys(key));
}
