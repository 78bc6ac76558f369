import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.ts';
import {
  COPY_COLUMNS,
  copyTuplesIn,
  encodeRows,
} from '../../src/modules/egress-ledger/egress-ledger-copy.ts';
import {
  createEgressLedgerDal,
  type EgressLedgerRow,
} from '../../src/modules/egress-ledger/egress-ledger-dal.ts';
import { createLedgerRing } from '../../src/modules/egress-ledger/egress-ledger-ring.ts';
import { createEgressLedgerWriter } from '../../src/modules/egress-ledger/egress-ledger-writer.ts';
import { ledgerRow } from '../helpers/egress-harness.ts';
import { createOrg, createProject, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * The ledger writer's binary COPY on the real database: every column arrives as written (nulls,
 * empty and several data classes, counts past 32 bits, the time to the millisecond, a writer-made
 * time-ordered id), a batch retried after a commit whose answer was lost is not written twice, a
 * row its columns cannot hold is refused alone while the rest of its batch commits, and no row holds
 * up its batch on a foreign key (migration 0023). The COPY sends its data with the statement: a
 * COPY that fails to start or fails midway leaves its connection usable.
 */
const dal = createEgressLedgerDal();
const NOW = new Date('2026-06-15T12:00:00.123Z');

describe('the ledger writer’s COPY', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app, 'Copy');
    projectId = (await createProject(t.app, org)).id;
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await t.db.systemPool.query('DELETE FROM egress_ledger');
  });

  const row = (over: Partial<EgressLedgerRow> = {}): EgressLedgerRow =>
    ledgerRow({ org_id: org.id, project_id: projectId, created_at: NOW, ...over });
  const stored = async () =>
    (
      await t.db.systemPool.query(
        `SELECT id, org_id, project_id, vendor, host, purpose, data_classes, records,
           bytes_out::text, bytes_in::text, attempts, status, outcome, latency_ms, created_at
         FROM egress_ledger ORDER BY records`,
      )
    ).rows;

  it('writes every column as given', async () => {
    const writer = createEgressLedgerWriter({ pool: t.db.systemPool, dal });
    const a = row({ records: 1, bytes_out: 5_000_000_123, bytes_in: 0 });
    const b = row({
      records: 2,
      project_id: null,
      status: null,
      outcome: 'timeout',
      attempts: 3,
      data_classes: [],
      host: 'tiktok-bucket.s3.us-east-1.amazonaws.com',
      latency_ms: 0.25,
      created_at: new Date('1999-12-31T23:59:59.999Z'),
    });
    const c = row({ records: 3, purpose: 'publishing', data_classes: ['generated_media', 'post_content'] });
    // Text past the encoder's short-ASCII copy: non-ASCII, and longer than 64 characters.
    const d = row({ records: 4, project_id: 'projet-été-☀', host: `${'h'.repeat(70)}.example` });
    expect(await Promise.all([a, b, c, d].map((r) => writer.append(r)))).toEqual([true, true, true, true]);
    const text = (r: EgressLedgerRow) => ({
      ...r,
      data_classes: [...r.data_classes],
      bytes_out: String(r.bytes_out),
      bytes_in: String(r.bytes_in),
    });
    expect(await stored()).toEqual([text(a), text(b), text(c), text(d)]);
    await writer.stop();
  });

  it('makes a time-ordered id for a row appended without one', async () => {
    const writer = createEgressLedgerWriter({ pool: t.db.systemPool, dal });
    const { id: _, ...noId } = row();
    const first = writer.append({ ...noId, records: 1 });
    const second = writer.append({ ...noId, records: 2, created_at: new Date(NOW.getTime() + 1) });
    expect(await Promise.all([first, second])).toEqual([true, true]);
    const ids = (await stored()).map((r) => r.id as string);
    expect(ids).toHaveLength(2);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The first 48 bits are the row's milliseconds.
    expect(Number.parseInt(ids[0]?.replace('-', '').slice(0, 12) ?? '', 16)).toBe(NOW.getTime());
    expect((ids[0] as string) < (ids[1] as string)).toBe(true);
    await writer.stop();
  });

  it('writes a retried batch once even when the failed attempt had committed', async () => {
    let lostAnswers = 1;
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      retryMs: 10,
      dal: {
        ...dal,
        async copyIn(client, tuples) {
          await dal.copyIn(client, tuples);
          if (lostAnswers-- > 0) throw new Error('connection lost after the commit');
        },
      },
    });
    const rows = Array.from({ length: 5 }, (_, i) => row({ records: i }));
    expect(await Promise.all(rows.map((r) => writer.append(r)))).toEqual(Array(5).fill(true));
    expect(lostAnswers).toBe(0);
    expect((await stored()).map((r) => r.id)).toEqual(rows.map((r) => r.id));
    await writer.stop();
  });

  it('skips a row whose id is written, and only that one: another of the same org and time goes in', async () => {
    const a = row({ records: 1 });
    const b = row({ records: 2 });
    await dal.insert(t.db.system, [a]);
    await dal.insert(t.db.system, [a, b]);
    expect((await stored()).map((r) => r.id)).toEqual([a.id, b.id]);
  });

  it('keeps one index, (org_id, project_id, created_at), that every reader uses (migration 0027)', async () => {
    const { rows } = await t.db.systemPool.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'egress_ledger'`,
    );
    expect(rows).toEqual([
      {
        indexname: 'egress_ledger_org_project_idx',
        indexdef:
          'CREATE INDEX egress_ledger_org_project_idx ON public.egress_ledger USING btree (org_id, project_id, created_at)',
      },
    ]);
  });

  it('writes a row naming an org the database does not know with its batch, first try and retried', async () => {
    // Org ids come from the authenticated context; the ledger has no foreign key to orgs (0023),
    // so such a row can neither fail its batch nor be left out of a retried one.
    let lostAnswers = 1;
    const dropped: number[] = [];
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      retryMs: 10,
      metrics: { written: () => undefined, dropped: (n) => dropped.push(n) },
      dal: {
        ...dal,
        async copyIn(client, tuples) {
          await dal.copyIn(client, tuples);
          if (lostAnswers-- > 0) throw new Error('connection lost after the commit');
        },
      },
    });
    const unknown = newId('org');
    const first = [row({ records: 1 }), row({ records: 2, org_id: unknown }), row({ records: 3 })];
    expect(await Promise.all(first.map((r) => writer.append(r)))).toEqual([true, true, true]);
    expect(lostAnswers).toBe(0);
    const second = [row({ records: 4, org_id: unknown }), row({ records: 5 })];
    expect(await Promise.all(second.map((r) => writer.append(r)))).toEqual([true, true]);
    expect(dropped).toEqual([]);
    expect((await stored()).map((r) => [r.records, r.org_id])).toEqual([
      [1, org.id],
      [2, unknown],
      [3, org.id],
      [4, unknown],
      [5, org.id],
    ]);
    await writer.stop();
  });

  it('the table still refuses the vendor names the writer refuses (0023 rewrote that CHECK)', async () => {
    const insert = (vendor: string) => dal.insert(t.db.system, [row({ vendor })]);
    for (const ok of ['ab', 'a_1', `a${'b'.repeat(39)}`]) await insert(ok);
    for (const bad of ['a', `a${'b'.repeat(40)}`, 'Openai', '1ab', '_ab', 'open-ai', 'opén', 'ab\n'])
      await expect(insert(bad), bad).rejects.toMatchObject({ code: '23514' });
    expect((await stored()).map((r) => r.vendor).sort()).toEqual(['a_1', 'ab', `a${'b'.repeat(39)}`]);
  });

  it('a COPY sent with its data that fails to start, or fails midway, leaves the connection usable', async () => {
    const client = await t.db.systemPool.connect();
    try {
      const ring = createLedgerRing();
      for (const records of [1, 2, 3]) ring.push(row({ records }));
      const { data, offsets } = encodeRows(ring, 0, 3);
      // One buffer per tuple, as cut at the offsets the encoder reports.
      const tuples = [0, 1, 2].map((k) => data.subarray(offsets[k], offsets[k + 1]));
      const into = (table: string) => `COPY ${table} (${COPY_COLUMNS}) FROM STDIN (FORMAT binary)`;
      await expect(copyTuplesIn(client, into('egress_ledger_missing'), tuples)).rejects.toMatchObject({
        code: '42P01',
      });
      await client.query('CREATE TEMPORARY TABLE ledger_strict (LIKE egress_ledger, CHECK (records > 1))');
      // The first tuple breaks the CHECK: the server fails the COPY with the rest of its data unread.
      await expect(copyTuplesIn(client, into('ledger_strict'), tuples)).rejects.toMatchObject({
        code: '23514',
      });
      expect((await client.query('SELECT count(*)::int AS n FROM ledger_strict')).rows[0].n).toBe(0);
      expect(await copyTuplesIn(client, into('egress_ledger'), tuples)).toBe(3);
      expect((await stored()).map((r) => r.records)).toEqual([1, 2, 3]);
    } finally {
      client.release();
    }
  });

  it('keeps every row and column in order past the ring’s first size (it grows while wrapped)', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      dal: {
        ...dal,
        async copyIn(client, tuples) {
          await gate;
          await dal.copyIn(client, tuples);
        },
      },
    });
    const outcomes = ['ok', 'http_error', 'rate_limited', 'timeout', 'network_error'] as const;
    const rows = Array.from({ length: 1_200 }, (_, i) =>
      row({
        records: i,
        project_id: i % 3 === 0 ? null : projectId,
        status: i % 7 === 0 ? null : 200 + (i % 300),
        outcome: outcomes[i % outcomes.length],
        data_classes: i % 5 === 0 ? ['post_content', 'generated_media'] : ['project_content'],
        attempts: 1 + (i % 4),
        latency_ms: i / 4,
      }),
    );
    // The first row's batch is held: the ring's oldest row is then past its first slot, so the
    // rows appended next wrap around it before it grows.
    const tickets = [writer.enqueue(rows[0] as EgressLedgerRow)];
    await new Promise((r) => setImmediate(r));
    for (const r of rows.slice(1)) tickets.push(writer.enqueue(r));
    expect(tickets).toEqual(rows.map((_, i) => i));
    open();
    expect(await Promise.all(tickets.map((k) => writer.recorded(k)))).toEqual(rows.map(() => true));
    const got = await stored();
    expect(
      got.map((r) => [r.id, r.records, r.project_id, r.status, r.outcome, r.attempts, r.latency_ms]),
    ).toEqual(
      rows.map((r) => [r.id, r.records, r.project_id, r.status, r.outcome, r.attempts, r.latency_ms]),
    );
    // A list of classes is stored sorted, as the gateway describes it.
    expect(got[0]?.data_classes).toEqual(['generated_media', 'post_content']);
    expect(got[1]?.data_classes).toEqual(['project_content']);
    await writer.stop();
  });

  it('answers recorded for a row asked about only after its batch committed, or after it was dropped', async () => {
    let away = false;
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      retryMs: 10,
      maxBuffered: 1,
      dal: {
        ...dal,
        async copyIn(client, tuples) {
          if (away) throw new Error('database away');
          await dal.copyIn(client, tuples);
        },
        async copyInSkippingWritten(client, tuples) {
          if (away) throw new Error('database away');
          await dal.copyInSkippingWritten(client, tuples);
        },
      },
    });
    const committed = writer.enqueue(row({ records: 1 }));
    await writer.flush();
    expect(writer.unacknowledged()).toBe(0);
    expect(await writer.recorded(committed)).toBe(true);
    expect(await writer.recorded(writer.enqueue(row({ records: 2, attempts: 0 })))).toBe(false);
    away = true;
    const dropped = writer.enqueue(row({ records: 3 }));
    const kept = writer.enqueue(row({ records: 4 }));
    // Past the bound of one row the oldest goes, at once or when its failed batch comes back.
    for (let i = 0; i < 200 && writer.unacknowledged() > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(writer.unacknowledged()).toBe(1);
    away = false;
    expect(await writer.recorded(kept)).toBe(true);
    expect(await writer.recorded(dropped)).toBe(false);
    expect(await writer.recorded(committed)).toBe(true);
    // A ticket never handed out is not recorded.
    expect(await writer.recorded(kept + 1)).toBe(false);
    expect((await stored()).map((r) => r.records)).toEqual([1, 4]);
    await writer.stop();
  });

  it('drops the oldest rows waiting, not the batch being written', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      maxBuffered: 2,
      dal: {
        ...dal,
        async copyIn(client, tuples) {
          await gate;
          await dal.copyIn(client, tuples);
        },
      },
    });
    const writing = writer.append(row({ records: 1 }));
    // The first batch is taken at the next turn of the event loop, then held at the gate.
    await new Promise((r) => setImmediate(r));
    const waiting = [2, 3, 4, 5].map((records) => writer.append(row({ records })));
    expect(writer.unacknowledged()).toBe(3);
    open();
    expect(await Promise.all([writing, ...waiting])).toEqual([true, false, false, true, true]);
    expect((await stored()).map((r) => r.records)).toEqual([1, 4, 5]);
    await writer.stop();
  });

  it('retries a failed batch without the rows the bound dropped from it', async () => {
    let away = true;
    let attempts = 0;
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      retryMs: 10,
      maxBuffered: 3,
      dal: {
        ...dal,
        async copyIn(client, tuples) {
          attempts++;
          if (away) throw new Error('database away');
          await dal.copyIn(client, tuples);
        },
        async copyInSkippingWritten(client, tuples) {
          attempts++;
          if (away) throw new Error('database away');
          await dal.copyInSkippingWritten(client, tuples);
        },
      },
    });
    const batch = [1, 2, 3].map((records) => writer.append(row({ records })));
    for (let i = 0; i < 200 && attempts === 0; i++) await new Promise((r) => setTimeout(r, 5));
    // Two more rows than the bound: the failed batch's two oldest rows go.
    const later = [4, 5].map((records) => writer.append(row({ records })));
    expect(await Promise.all(batch.slice(0, 2))).toEqual([false, false]);
    away = false;
    expect(await Promise.all([batch[2], ...later])).toEqual([true, true, true]);
    expect((await stored()).map((r) => r.records)).toEqual([3, 4, 5]);
    await writer.stop();
  });

  it('paces rows nobody waits for: a lone row goes at once, later ones a batch a pace, unless a row is waited for or a batch fills', async () => {
    const copies: number[] = [];
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      dal,
      gatherMs: 60_000,
      metrics: { written: (n) => copies.push(n), dropped: () => undefined },
    });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const copied = async (n: number) => {
      for (let i = 0; i < 500 && copies.length < n; i++) await sleep(10);
    };
    writer.enqueue(row({ records: 1 }));
    await copied(1);
    expect(copies).toEqual([1]);
    // Within the pace (a minute here), rows nobody waits for stay buffered…
    writer.enqueue(row({ records: 2 }));
    const third = writer.enqueue(row({ records: 3 }));
    await sleep(200);
    expect(copies).toEqual([1]);
    expect(writer.unacknowledged()).toBe(2);
    // …until one is waited for: it goes at once, with the rows before it.
    expect(await writer.recorded(third)).toBe(true);
    expect(copies).toEqual([1, 2]);
    // A full batch does not wait for the pace either.
    for (let i = 0; i < 2_000; i++) writer.enqueue(row({ records: 10 + i }));
    await copied(3);
    expect(copies).toEqual([1, 2, 2_000]);
    expect(await stored()).toHaveLength(2_003);
    await writer.stop();
  });

  it('refuses a row its columns cannot hold, alone, and counts it as dropped', async () => {
    const dropped: number[] = [];
    const writer = createEgressLedgerWriter({
      pool: t.db.systemPool,
      dal,
      metrics: { written: () => undefined, dropped: (n) => dropped.push(n) },
    });
    const results = await Promise.all([
      writer.append(row({ records: 1 })),
      writer.append(row({ records: 2, attempts: 70_000 })),
      writer.append(row({ records: 3, id: 'not-a-uuid' })),
      writer.append(row({ records: 4, bytes_out: -1 })),
      // What the table's CHECK constraints refuse.
      writer.append(row({ records: 5, vendor: 'Not A Vendor' })),
      writer.append(row({ records: 6, host: 'h'.repeat(254) })),
      writer.append(row({ records: 7, attempts: 0 })),
      writer.append(row({ records: 8 })),
    ]);
    expect(results).toEqual([true, false, false, false, false, false, false, true]);
    expect(dropped).toEqual([1, 1, 1, 1, 1, 1]);
    expect((await stored()).map((r) => r.records)).toEqual([1, 8]);
    await writer.stop();
  });
});
