/**
 * Bounds rendering per process: at most `limit` renders at once (default 1), the rest wait in
 * order. Together with resvg's thread-pool renders and ffmpeg's single thread at nice 10, rendering
 * uses at most about one core, so the API keeps the others (measured by `npm run bench -- generation`).
 */
export function createRenderGate(limit = 1) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
      try {
        return await fn();
      } finally {
        active--;
        waiting.shift()?.();
      }
    },
    get active() {
      return active;
    },
  };
}

export type RenderGate = ReturnType<typeof createRenderGate>;
