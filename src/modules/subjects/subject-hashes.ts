import { sha256Hex } from '../../lib/hashing.ts';

/**
 * Hashes that stand for a user without naming them.
 * - A suppression is keyed by SHA-256 of `project_id:user_id`, so ingest can recognise the user again
 *   (and a partner can recompute it) while the table holds no user id.
 * - A receipt carries SHA-256 of `dsr_id:user_id`: the partner who knows the user id can check which
 *   user a receipt is about; the hash links nothing across requests or projects.
 */
export const suppressionHash = (projectId: string, userId: string) => sha256Hex(`${projectId}:${userId}`);

/**
 * The suppression of an anonymous id linked to a suppressed user (migration 0015): `anon:` first, so it
 * can never equal a user's hash (project ids start with `proj_`).
 */
export const anonymousSuppressionHash = (projectId: string, anonymousId: string) =>
  sha256Hex(`anon:${projectId}:${anonymousId}`);

export const receiptHash = (dsrId: string, userId: string) => sha256Hex(`${dsrId}:${userId}`);
