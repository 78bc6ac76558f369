import { AppError } from '../../lib/errors.ts';

/**
 * How many exports one process streams at once, and for how long. An export holds a database
 * connection of the app pool and a REPEATABLE READ snapshot (which holds back vacuum and makes a
 * partition drop wait) for as long as its client takes to read, so both are bounded:
 * - `maxConcurrent` in all and `maxPerOrg` for one org (per process, like the rate limits): one more
 *   answers 503 (`service_unavailable`) or 429 (`rate_limited`), both with `Retry-After`, before any
 *   connection is taken;
 * - `idleTimeoutMs`: a client that takes no data for this long is cut off;
 * - `maxDurationMs`: no export runs longer, however fast it is read.
 */
export type ExportLimits = Readonly<{
  maxConcurrent: number;
  maxPerOrg: number;
  idleTimeoutMs: number;
  maxDurationMs: number;
}>;

/** Seconds a refused export is told to wait: exports of ordinary users take seconds. */
const RETRY_AFTER_S = '5';

export function createExportLimiter(limits: ExportLimits) {
  let running = 0;
  const perOrg = new Map<string, number>();

  return {
    /** A slot for one export of this org, or an AppError (429, 503); the returned function frees it (once). */
    acquire(orgId: string): () => void {
      const mine = perOrg.get(orgId) ?? 0;
      if (mine >= limits.maxPerOrg) {
        throw new AppError(
          'rate_limited',
          `This org already runs ${limits.maxPerOrg} exports at once; retry when one has finished.`,
          { headers: { 'Retry-After': RETRY_AFTER_S } },
        );
      }
      if (running >= limits.maxConcurrent) {
        throw new AppError('service_unavailable', 'Too many exports are running right now; retry shortly.', {
          headers: { 'Retry-After': RETRY_AFTER_S },
        });
      }
      running += 1;
      perOrg.set(orgId, mine + 1);
      let freed = false;
      return () => {
        if (freed) return;
        freed = true;
        running -= 1;
        const left = (perOrg.get(orgId) ?? 1) - 1;
        if (left === 0) perOrg.delete(orgId);
        else perOrg.set(orgId, left);
      };
    },

    /** Exports streaming now (for tests and metrics). */
    running: () => running,
  };
}

export type ExportLimiter = ReturnType<typeof createExportLimiter>;
