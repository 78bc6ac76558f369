import { describe, expect, it } from 'vitest';
import { chunkPlan, chunkRange } from './tiktok-publisher.ts';

const MiB = 1024 * 1024;

/** Every chunk of a plan as TikTok's media transfer guide checks it. */
function chunksOf(size: number) {
  const plan = chunkPlan(size);
  return { plan, chunks: Array.from({ length: plan.chunkCount }, (_, i) => chunkRange(plan, size, i)) };
}

describe('TikTok chunk plan', () => {
  it("cuts TikTok's own example (50,000,123 bytes, 10,000,000-byte chunks) into 5 with the tail in the last", () => {
    const { plan, chunks } = chunksOf(50_000_123);
    expect(plan).toEqual({ chunkSize: 10_000_000, chunkCount: 5 });
    expect(chunks.at(-1)).toEqual({ start: 40_000_000, end: 50_000_123 });
  });

  it('sends a video up to one chunk whole (under 5 MB it must be)', () => {
    for (const size of [1, 5 * MiB - 1, 5 * MiB, 10_000_000])
      expect(chunkPlan(size)).toEqual({ chunkSize: size, chunkCount: 1 });
  });

  it('keeps every plan up to 4 GB inside the rules: contiguous, 5–64 MB chunks, last under 128 MB, ≤ 1000', () => {
    for (const size of [10_000_001, 19_999_999, 20_000_000, 64 * MiB + 1, 1_000_000_007, 4 * 1024 * MiB]) {
      const { plan, chunks } = chunksOf(size);
      expect(plan.chunkCount).toBe(Math.floor(size / plan.chunkSize));
      expect(plan.chunkCount).toBeLessThanOrEqual(1000);
      expect(plan.chunkSize).toBeGreaterThanOrEqual(5 * MiB);
      expect(plan.chunkSize).toBeLessThanOrEqual(64_000_000);
      expect(chunks[0]?.start).toBe(0);
      expect(chunks.at(-1)?.end).toBe(size);
      for (let i = 1; i < chunks.length; i++) expect(chunks[i]?.start).toBe(chunks[i - 1]?.end);
      const last = chunks.at(-1) as { start: number; end: number };
      expect(last.end - last.start).toBeLessThan(128_000_000);
    }
  });
});
