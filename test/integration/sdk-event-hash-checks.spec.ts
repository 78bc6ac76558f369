import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.ts';
import { createEventPartition, ensureEventPartitions } from '../../src/modules/ingest/event-partitions.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Migration 0030 rewrote the CHECKs of `sdk_events.email_sha256` and `phone_sha256` (cheaper, the
 * same values) and left them NOT VALID. The table must still refuse every value that is not 64
 * lower-case hex characters, in each kind of partition the table has: one made at boot, one the
 * keeper creates later, one it attaches after moving rows out of the default partition, and the
 * default partition itself.
 */
describe('sdk_events hash columns (0030)', () => {
  const clock = fixedClock(new Date('2033-03-10T12:00:00Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  const hash = createHash('sha256').update('person@example.com').digest('hex');
  const refused = [
    hash.toUpperCase(),
    hash.slice(0, 63),
    `${hash}0`,
    `${hash.slice(0, 63)}g`,
    `${hash.slice(0, 63)}é`,
    `${hash.slice(0, 63)} `,
    `${hash}\n`,
    `${hash.slice(0, 32)}-${hash.slice(33)}`,
    '',
  ];

  let n = 0;
  /** The ids of every insert tried, refused ones too. */
  let tried: string[] = [];
  /** Inserts one event (its id returned) with `value` in `column`. */
  const insert = async (column: 'email_sha256' | 'phone_sha256', value: string | null, month: string) => {
    n += 1;
    const id = `sev_h${n}`;
    tried.push(id);
    await t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, user_id, timestamp, received_at, received_month, ${column})
       VALUES ($1, 'org_h', 'proj_h', $1, 'track', 'u_1', $2::timestamptz, $2::timestamptz, $2::date, $3)`,
      [id, month, value],
    );
    return id;
  };
  const stored = async (ids: string[]) => {
    const { rows } = await t.db.systemPool.query<{ id: string; p: string }>(
      `SELECT id, tableoid::regclass::text AS p FROM sdk_events WHERE id = ANY($1) ORDER BY id`,
      [ids],
    );
    return rows;
  };

  /** Stores a hash and a NULL in each column, refuses every other value; returns the partition used. */
  const expectOnlyHashes = async (month: string) => {
    const accepted: string[] = [];
    tried = [];
    for (const column of ['email_sha256', 'phone_sha256'] as const) {
      accepted.push(await insert(column, hash, month), await insert(column, null, month));
      for (const bad of refused)
        await expect(insert(column, bad, month), `${column} ${JSON.stringify(bad)}`).rejects.toMatchObject({
          code: '23514',
        });
    }
    const rows = await stored(tried);
    expect(rows.map((r) => r.id).sort()).toEqual([...accepted].sort());
    return new Set(rows.map((r) => r.p));
  };

  it('refuses all but 64 lower-case hex characters in a partition made at boot', async () => {
    expect(await expectOnlyHashes('2033-03-01')).toEqual(new Set(['sdk_events_2033_03']));
  });

  it('… in a partition the keeper creates later', async () => {
    await createEventPartition(t.db.system, new Date('2034-01-01T00:00:00Z'));
    expect(await expectOnlyHashes('2034-01-01')).toEqual(new Set(['sdk_events_2034_01']));
  });

  it('… in the default partition, and in a partition attached after rows moved out of it', async () => {
    expect(await expectOnlyHashes('2035-06-01')).toEqual(new Set(['sdk_events_default']));
    await ensureEventPartitions(t.db.system, new Date('2035-06-15T00:00:00Z'));
    expect(await expectOnlyHashes('2035-06-01')).toEqual(new Set(['sdk_events_2035_06']));
  });
});
