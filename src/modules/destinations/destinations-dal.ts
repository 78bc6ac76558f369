import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { DEFAULT_LIMIT, type PageParams } from '../../lib/pagination.ts';
import type { ForwardTarget } from './forward-builder.ts';
import type { DestinationType } from './forward-event.ts';

/** A destination row without its token ciphertext (which no response ever carries). */
export type DestinationRow = {
  id: string;
  org_id: string;
  project_id: string;
  type: DestinationType;
  platform_id: string;
  event_map: Record<string, string>;
  test_event_code: string | null;
  default_phone_country: string | null;
  enabled: boolean;
  status: 'active' | 'paused';
  paused_reason: 'invalid_token' | null;
  paused_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const PUBLIC = sql.raw(
  'id, org_id, project_id, type, platform_id, event_map, test_event_code, default_phone_country, enabled, status, paused_reason, paused_at, created_at, updated_at',
);

type Db = Kysely<Database>;

export type DestinationPatch = Partial<
  Pick<
    DestinationRow,
    | 'event_map'
    | 'test_event_code'
    | 'default_phone_country'
    | 'enabled'
    | 'status'
    | 'paused_reason'
    | 'paused_at'
  >
> & { encrypted_access_token?: string; updated_at: Date };

export function createDestinationsDal() {
  return {
    async insert(
      tx: Db,
      row: Omit<DestinationRow, 'paused_at' | 'paused_reason'> & { encrypted_access_token: string },
    ) {
      const { rows } = await sql<DestinationRow>`
        INSERT INTO destinations (id, org_id, project_id, type, platform_id, encrypted_access_token, event_map,
          test_event_code, default_phone_country, enabled, status, created_at, updated_at)
        VALUES (${row.id}, ${row.org_id}, ${row.project_id}, ${row.type}, ${row.platform_id}, ${row.encrypted_access_token},
          ${JSON.stringify(row.event_map)}::jsonb, ${row.test_event_code}, ${row.default_phone_country}, ${row.enabled},
          ${row.status}, ${row.created_at}, ${row.updated_at})
        RETURNING ${PUBLIC}`.execute(tx);
      return rows[0] as DestinationRow;
    },

    async findById(tx: Db, orgId: string, id: string): Promise<DestinationRow | undefined> {
      const { rows } = await sql<DestinationRow>`
        SELECT ${PUBLIC} FROM destinations WHERE org_id = ${orgId} AND id = ${id}`.execute(tx);
      return rows[0];
    },

    /** Cursor pages by id, newest first (ids sort by creation time), as every list. */
    async listForProject(tx: Db, orgId: string, projectId: string, page: PageParams) {
      const limit = page.limit ?? DEFAULT_LIMIT;
      const after = page.starting_after ?? null;
      const before = page.ending_before ?? null;
      const { rows } = await sql<DestinationRow>`
        SELECT ${PUBLIC} FROM destinations
        WHERE org_id = ${orgId} AND project_id = ${projectId}
          AND (${after}::text IS NULL OR id < ${after}) AND (${before}::text IS NULL OR id > ${before})
        ORDER BY id ${sql.raw(before ? 'ASC' : 'DESC')} LIMIT ${limit + 1}`.execute(tx);
      const has_more = rows.length > limit;
      const data = rows.slice(0, limit);
      if (before) data.reverse();
      return { rows: data, has_more };
    },

    async update(tx: Db, orgId: string, id: string, patch: DestinationPatch): Promise<DestinationRow> {
      const sets = Object.entries(patch).map(([k, v]) =>
        k === 'event_map' ? sql`event_map = ${JSON.stringify(v)}::jsonb` : sql`${sql.ref(k)} = ${v as never}`,
      );
      const { rows } = await sql<DestinationRow>`
        UPDATE destinations SET ${sql.join(sets)} WHERE org_id = ${orgId} AND id = ${id}
        RETURNING ${PUBLIC}`.execute(tx);
      return rows[0] as DestinationRow;
    },

    /** Deletes the destination and (ON DELETE CASCADE) its forward queue; returns the queued events. */
    async remove(tx: Db, orgId: string, id: string): Promise<number> {
      const { rows } = await sql<{ n: string }>`
        SELECT coalesce(sum(event_count), 0) AS n FROM capi_forward_queue WHERE org_id = ${orgId} AND destination_id = ${id}`.execute(
        tx,
      );
      await sql`DELETE FROM destinations WHERE org_id = ${orgId} AND id = ${id}`.execute(tx);
      return Number(rows[0]?.n ?? 0);
    },

    /** The token's ciphertext, for the forwarder only. */
    async encryptedToken(tx: Db, orgId: string, id: string): Promise<string | undefined> {
      const { rows } = await sql<{ t: string }>`
        SELECT encrypted_access_token AS t FROM destinations WHERE org_id = ${orgId} AND id = ${id}`.execute(
        tx,
      );
      return rows[0]?.t;
    },

    /** What ingest needs: the project's enabled, active destinations. */
    async forwardTargets(tx: Db, orgId: string, projectId: string): Promise<ForwardTarget[]> {
      const { rows } = await sql<ForwardTarget>`
        SELECT id, type, event_map, default_phone_country FROM destinations
        WHERE org_id = ${orgId} AND project_id = ${projectId} AND enabled AND status = 'active'
        ORDER BY id`.execute(tx);
      return rows;
    },

    /** The egress allowlist's seam: the types of a project's enabled, active destinations. */
    async enabledTypes(db: Db, orgId: string, projectId: string): Promise<DestinationType[]> {
      const { rows } = await sql<{ type: DestinationType }>`
        SELECT DISTINCT type FROM destinations
        WHERE org_id = ${orgId} AND project_id = ${projectId} AND enabled AND status = 'active'`.execute(db);
      return rows.map((r) => r.type);
    },
  };
}

export type DestinationsDal = ReturnType<typeof createDestinationsDal>;
