/**
 * Bounds rendering per process: at most `limit` renders at once (default 1), the rest wait in
 * order. The renders themselves run in the render process (render-process.ts) at SCHED_IDLE (else
 * nice 19), one at a time, with ffmpeg's single encoding thread: rendering uses at most about one
 * core and only what the API leaves (measured by `npm run bench -- generation`).
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
