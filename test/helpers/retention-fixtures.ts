import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { Registry } from 'prom-client';
import type { Clock } from '../../src/lib/clock.ts';
import { newId } from '../../src/lib/ids.ts';
import { createPartnershipEnd } from '../../src/modules/retention/partnership-end.ts';
import { createPurgeScheduleDal } from '../../src/modules/retention/purge-schedule-dal.ts';
import { createRetentionMetrics } from '../../src/modules/retention/retention-metrics.ts';
import { createRetentionOverridesDal } from '../../src/modules/retention/retention-overrides-dal.ts';
import { createRetentionSweeper } from '../../src/modules/retention/retention-sweeper.ts';
import { createSweeperDals } from '../../src/modules/retention/sweeper-dals.ts';
import {
  ADMIN_TOKEN,
  bearer,
  createKey,
  createOrg,
  createProject,
  type TestApp,
  type TestOrg,
} from './test-app.ts';

/** Builders for retention tests: orgs with contract terms, planted rows, counts. */
export const at = (iso: string) => new Date(iso);
export const plusMs = (d: Date, ms: number) => new Date(d.getTime() + ms);

export async function partnerOrg(t: TestApp, name: string, overrides?: Record<string, string | null>) {
  const org = await createOrg(t.app, name, 'partner');
  if (overrides) await setRetention(t, org.id, overrides);
  return org;
}

export async function setRetention(t: TestApp, orgId: string, overrides: Record<string, string | null>) {
  const res = await t.app.inject({
    method: 'PUT',
    url: `/admin/v1/orgs/${orgId}/retention`,
    headers: bearer(ADMIN_TOKEN),
    payload: { overrides },
  });
  if (res.statusCode !== 200) throw new Error(`setRetention failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function offboard(t: TestApp, orgId: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/admin/v1/orgs/${orgId}/offboard`,
    headers: bearer(ADMIN_TOKEN),
  });
  if (res.statusCode !== 200) throw new Error(`offboard failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A project and its publishable key. */
export async function sdkProject(t: TestApp, org: TestOrg, name = 'App') {
  const project = await createProject(t.app, org, name);
  const key = await createKey(t.app, org, { type: 'publishable', project_id: project.id });
  return { projectId: project.id, publishable: key.secret };
}

export async function plantRequestLog(pool: pg.Pool, orgId: string, createdAt: Date): Promise<string> {
  const id = newId('request', createdAt.getTime());
  await pool.query(
    `INSERT INTO request_log (id, org_id, api_key_id, method, route, status, latency_ms, created_at)
     VALUES ($1, $2, NULL, 'GET', '/v1/projects', 200, 1.5, $3)`,
    [id, orgId, createdAt],
  );
  return id;
}

export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) q`, params);
  return Number(rows[0]?.n ?? 0);
}

export async function tableExists(pool: pg.Pool, name: string): Promise<boolean> {
  const { rows } = await pool.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [name]);
  return rows[0].e === true;
}

/** Events inserted straight into storage (already hashed/geo-coded), for volume and exact months. */
export async function plantEvents(
  pool: pg.Pool,
  opts: { orgId: string; projectId: string; receivedAt: Date; n: number; userPrefix?: string },
): Promise<void> {
  const month = new Date(Date.UTC(opts.receivedAt.getUTCFullYear(), opts.receivedAt.getUTCMonth(), 1));
  await pool.query(
    `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month, properties)
     SELECT 'evt_' || $6 || g, $1, $2, $6 || '-' || g, 'track', 'opened', $5 || (g % 10), $3, $3, $4::date, '{"n": 1}'
     FROM generate_series(1, $7::int) g`,
    [
      opts.orgId,
      opts.projectId,
      opts.receivedAt,
      month.toISOString().slice(0, 10),
      opts.userPrefix ?? 'u_',
      randomBytes(4).toString('hex'),
      opts.n,
    ],
  );
}

/** A second, independent sweeper on the same database (another worker), with its own metrics. */
export function extraSweeper(t: TestApp, opts: { clock: Clock; batchSize?: number }) {
  const overridesDal = createRetentionOverridesDal();
  const scheduleDal = createPurgeScheduleDal();
  const dals = createSweeperDals();
  return createRetentionSweeper({
    db: t.db.system,
    clock: opts.clock,
    overridesDal,
    scheduleDal,
    ...dals,
    partnershipEnd: createPartnershipEnd({ overridesDal, scheduleDal, purgeDal: dals.purgeDal }),
    auditLog: t.container.auditLog,
    metrics: createRetentionMetrics(new Registry()),
    ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
  });
}
