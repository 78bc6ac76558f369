import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, DataSubjectRequestsTable } from '../../db/schema.ts';

export type DsrRow = Selectable<DataSubjectRequestsTable>;

/** Requests, suppressions, and the per-class deletes an erasure is made of. */
export function createDataSubjectRequestsDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      row: Pick<
        DsrRow,
        | 'id'
        | 'org_id'
        | 'project_id'
        | 'user_id'
        | 'subject_sha256'
        | 'suppress'
        | 'requested_by'
        | 'request_id'
        | 'created_at'
      >,
    ): Promise<DsrRow> {
      return tx
        .insertInto('data_subject_requests')
        .values({ ...row, type: 'erasure', status: 'pending' })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async findById(tx: Kysely<Database>, orgId: string, id: string): Promise<DsrRow | undefined> {
      return tx
        .selectFrom('data_subject_requests')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async addSuppression(
      tx: Kysely<Database>,
      row: {
        org_id: string;
        project_id: string;
        subject_sha256: string;
        dsr_id: string | null;
        created_at: Date;
      },
    ) {
      await tx
        .insertInto('suppressions')
        .values(row)
        .onConflict((oc) => oc.columns(['project_id', 'subject_sha256']).doNothing())
        .execute();
    },

    async removeSuppression(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      hash: string,
    ): Promise<boolean> {
      const result = await tx
        .deleteFrom('suppressions')
        .where('org_id', '=', orgId)
        .where('project_id', '=', projectId)
        .where('subject_sha256', '=', hash)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async listSuppressions(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      limit: number,
      startingAfter?: string,
    ) {
      let q = tx
        .selectFrom('suppressions')
        .select(['subject_sha256', 'dsr_id', 'created_at'])
        .where('org_id', '=', orgId)
        .where('project_id', '=', projectId);
      if (startingAfter) q = q.where('subject_sha256', '>', startingAfter);
      const rows = await q
        .orderBy('subject_sha256')
        .limit(limit + 1)
        .execute();
      return { rows: rows.slice(0, limit), has_more: rows.length > limit };
    },

    async suppressedHashes(tx: Kysely<Database>, orgId: string, projectId: string): Promise<string[]> {
      const rows = await tx
        .selectFrom('suppressions')
        .select('subject_sha256')
        .where('org_id', '=', orgId)
        .where('project_id', '=', projectId)
        .execute();
      return rows.map((r) => r.subject_sha256);
    },

    /** The user ids in a project whose profile or events carry this identifier hash. */
    async usersByIdentifier(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      kind: 'email' | 'phone',
      hash: string,
    ) {
      const column = kind === 'email' ? sql.ref('email_sha256') : sql.ref('phone_sha256');
      const { rows } = await sql<{ user_id: string }>`
        SELECT user_id FROM user_profiles WHERE org_id = ${orgId} AND project_id = ${projectId} AND ${column} @> ARRAY[${hash}]::text[]
        UNION
        SELECT DISTINCT user_id FROM sdk_events WHERE org_id = ${orgId} AND project_id = ${projectId} AND ${column} = ${hash}
        ORDER BY 1 LIMIT 101`.execute(tx);
      return rows.map((r) => r.user_id);
    },
  };
}

export type DataSubjectRequestsDal = ReturnType<typeof createDataSubjectRequestsDal>;
