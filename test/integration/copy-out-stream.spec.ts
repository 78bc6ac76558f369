import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CopyOutStream, copyOut } from '../../src/db/copy-out-stream.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-cluster.ts';

const collect = async (stream: CopyOutStream) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** The COPY-out stream against the real database: exact bytes, framing, backpressure. */
describe('copy-out stream', () => {
  let db: TestDatabase;
  let client: pg.PoolClient;
  beforeAll(async () => {
    db = await createTestDatabase();
    client = await db.systemPool.connect();
  });
  afterAll(async () => {
    client.release();
    await db.drop();
  });

  it('hands over every row byte for byte, framed, in order (quotes, backslashes, tabs, multi-byte text)', async () => {
    const select = `SELECT json_build_object('n', g, 's', repeat(E'é"\\\\\\t✓', g % 40))::text AS row
                    FROM generate_series(1, 5000) g ORDER BY g`;
    const { rows } = await client.query<{ row: string }>(select);
    const stream = copyOut(client, select, { between: ',', after: '' });
    const bytes = await collect(stream);
    expect(bytes.toString('utf8')).toBe(rows.map((r) => r.row).join(','));
    expect((JSON.parse(`[${bytes}]`) as { n: number }[]).map((r) => r.n)).toEqual(rows.map((_, i) => i + 1));
    expect(stream.completed).toBe(true);
    expect(stream.rowCount).toBe(5000);
  });

  it('frames rows larger than one chunk and puts the separator after each (NDJSON)', async () => {
    const stream = copyOut(
      client,
      `SELECT repeat(chr(96 + g), 150000) FROM generate_series(1, 3) g ORDER BY g`,
      {
        between: '',
        after: '\n',
      },
    );
    const lines = (await collect(stream)).toString('utf8').split('\n');
    expect(lines.map((l) => [l.length, l[0]])).toEqual([
      [150000, 'a'],
      [150000, 'b'],
      [150000, 'c'],
      [0, undefined],
    ]);
  });

  it('ends empty when the query has no rows, and the connection stays usable', async () => {
    const stream = copyOut(client, 'SELECT 1::text WHERE false', { between: ',', after: '' });
    expect((await collect(stream)).length).toBe(0);
    expect(stream.rowCount).toBe(0);
    expect((await client.query('SELECT 41 + 1 AS n')).rows[0].n).toBe(42);
  });

  it('stops reading from the database while the consumer is behind, then delivers everything', async () => {
    const rowBytes = 1000;
    const rowCount = 40_000; // 40 MB: far more than the stream may hold
    const stream = copyOut(client, `SELECT repeat('y', ${rowBytes}) FROM generate_series(1, ${rowCount})`, {
      between: '',
      after: '\n',
    });
    let buffered = 0;
    for (let i = 0; i < 50; i += 1) {
      await sleep(20);
      buffered = Math.max(buffered, stream.readableLength);
    }
    expect(stream.completed).toBe(false);
    // Its own high-water mark plus the chunk being filled; without the pause it would hold all 40 MB.
    expect(buffered).toBeGreaterThan(0);
    expect(buffered).toBeLessThanOrEqual(4 * 64 * 1024);
    expect((await collect(stream)).length).toBe(rowCount * (rowBytes + 1));
  });

  it('fails the stream with the database error', async () => {
    const stream = copyOut(client, 'SELECT (1 / (g - 3))::text FROM generate_series(1, 5) g', {
      between: ',',
      after: '',
    });
    await expect(collect(stream)).rejects.toThrow(/division by zero/);
    expect((await client.query('SELECT 1 AS n')).rows[0].n).toBe(1);
  });
});
