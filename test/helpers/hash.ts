import { createHash } from 'node:crypto';

/** SHA-256 hex computed independently of the code under test. */
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
