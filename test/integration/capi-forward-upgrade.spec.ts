import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrations } from '../../src/db/migrations/index.ts';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import { openEvents, PAYLOAD_FIELD } from '../../src/modules/destinations/forward-batch.ts';

/**
 * Migration 0025 on a database holding rows queued one per event (0019): each stays, as a batch of
 * one with the same id and ciphertext, and opens to its event.
 */
describe('migration 0025: rows queued before batches', () => {
  const cluster = inject('testCluster');
  const name = `t_up_${randomBytes(6).toString('hex')}`;
  let db: Kysely<unknown>;
  const admin = () => new pg.Client({ ...cluster.superuser, database: 'postgres' });

  beforeAll(async () => {
    const c = admin();
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    db = new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ ...cluster.superuser, database: name }) }),
    });
  });
  afterAll(async () => {
    await db.destroy();
    const c = admin();
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });

  const migrator = () =>
    new Migrator({
      db,
      provider: { getMigrations: async () => migrations },
      migrationTableName: 'layers_migrations',
      migrationLockTableName: 'layers_migrations_lock',
    });

  it('keeps each queued row as a batch of one that opens to its event', async () => {
    const before = await migrator().migrateTo('0024-ad-deployment-advertiser-token');
    expect(before.error).toBeUndefined();
    const envelope = createEnvelope(parseKeyEncryptionKeys(generateKeyEncryptionKey()));
    const id = '0193a000-0000-7000-8000-0000000000bb';
    const event = {
      name: 'Purchase',
      event_id: 'e-upgrade',
      time: 1_764_000_000,
      hashes: {},
      device: {},
      custom: {},
    };
    const payload = envelope.encrypt(JSON.stringify(event), {
      orgId: 'org_up',
      recordId: id,
      field: PAYLOAD_FIELD,
    });
    // The queue row as 0019 wrote it (the org, project and destination rows are not the point here).
    await db.connection().execute(async (c) => {
      await sql`SET session_replication_role = replica`.execute(c);
      await sql`
        INSERT INTO capi_forward_queue (id, org_id, project_id, destination_id, event_id, subject_hash, event_time,
          encrypted_payload, attempts, next_attempt_at, created_at)
        VALUES (${id}, 'org_up', 'prj_up', 'dst_up', 'e-upgrade', ${'a'.repeat(64)}, to_timestamp(1764000000),
          ${payload}, 2, now(), now())`.execute(c);
      await sql`SET session_replication_role = DEFAULT`.execute(c);
    });

    const after = await migrator().migrateTo('0025-capi-forward-batches');
    expect(after.error).toBeUndefined();
    const { rows } = await sql<{
      id: string;
      org_id: string;
      event_count: number;
      subject_hashes: string[];
      oldest_event_time: Date;
      encrypted_payload: string;
      attempts: number;
    }>`SELECT id, org_id, event_count, subject_hashes, oldest_event_time, encrypted_payload, attempts
       FROM capi_forward_queue`.execute(db);
    expect(rows).toEqual([
      {
        id,
        org_id: 'org_up',
        event_count: 1,
        subject_hashes: ['a'.repeat(64)],
        oldest_event_time: new Date(1_764_000_000_000),
        encrypted_payload: payload,
        attempts: 2,
      },
    ]);
    const row = rows[0] as (typeof rows)[number];
    expect(openEvents(envelope, { ...row, first_subject: row.subject_hashes[0] as string })).toEqual([
      { event, subject: 'a'.repeat(64) },
    ]);
  });
});
