import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { collectYoungGeneration } from './young-generation.ts';

describe('collectYoungGeneration', () => {
  it('frees the outside-heap bytes of Buffers that died young', async () => {
    let buffers: Buffer[] | undefined = Array.from({ length: 48 }, () => Buffer.alloc(1024 * 1024, 1));
    const held = process.memoryUsage().arrayBuffers;
    expect(buffers.length).toBe(48);
    buffers = undefined;
    collectYoungGeneration();
    let now = held;
    for (let i = 0; i < 100 && held - now < 40 * 1024 * 1024; i += 1) {
      await sleep(10);
      now = process.memoryUsage().arrayBuffers;
    }
    expect(held - now).toBeGreaterThanOrEqual(40 * 1024 * 1024);
  });

  it('leaves no gc global behind', () => {
    expect('gc' in globalThis).toBe(false);
  });
});
