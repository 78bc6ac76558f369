import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, DataSubjectRequestsTable } from '../../db/schema.ts';

export type DsrRow = Selectable<DataSubjectRequestsTable>;

/** Requests (with their receipts) and suppressions; the deletes an erasure is made of are in erasure-dal.ts. */
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

    /** The erasure has started: every class appears on the receipt (0 until counted). */
    async markRunning(tx: Kysely<Database>, id: string, now: Date, dataClasses: readonly string[]) {
      const zeros = JSON.stringify(Object.fromEntries(dataClasses.map((c) => [c, 0])));
      await sql`UPDATE data_subject_requests
        SET status = 'running', started_at = COALESCE(started_at, ${now}), erased = ${zeros}::jsonb || erased
        WHERE id = ${id}`.execute(tx);
    },

    /** Adds a batch's deletions to the receipt, in the batch's transaction. */
    async addErased(tx: Kysely<Database>, id: string, dataClass: string, n: number) {
      await sql`
        UPDATE data_subject_requests
        SET erased = jsonb_set(erased, ${`{${dataClass}}`}::text[],
          to_jsonb(COALESCE((erased->>${dataClass})::bigint, 0) + ${n}))
        WHERE id = ${id}`.execute(tx);
    },

    /** Completes the request and forgets the user id; the receipt, or undefined if it was already complete. */
    async markCompleted(
      tx: Kysely<Database>,
      id: string,
      now: Date,
    ): Promise<Record<string, number> | undefined> {
      const { rows } = await sql<{ erased: Record<string, number> }>`
        UPDATE data_subject_requests SET status = 'completed', user_id = NULL, completed_at = ${now}
        WHERE id = ${id} AND status <> 'completed' RETURNING erased`.execute(tx);
      return rows[0]?.erased;
    },

    /**
     * Orders this transaction against every concurrent ingest commit of the org (migration 0010):
     * waits for those in flight to commit, and holds off new ones until this transaction ends. A
     * suppression added after it is seen by every later commit; the events of earlier ones are
     * visible to the deletes that follow.
     */
    async suppressionFence(tx: Kysely<Database>, orgId: string) {
      await sql`SELECT suppression_fence(${orgId})`.execute(tx);
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

    /** Lifts a user's suppression, with the suppressions of their anonymous ids recorded by the same erasure. */
    async removeSuppression(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      hash: string,
    ): Promise<boolean> {
      const result = await sql`
        DELETE FROM suppressions WHERE org_id = ${orgId} AND project_id = ${projectId} AND (subject_sha256 = ${hash}
          OR dsr_id = (SELECT dsr_id FROM suppressions WHERE org_id = ${orgId} AND project_id = ${projectId}
                       AND subject_sha256 = ${hash}))`.execute(tx);
      return Number(result.numAffectedRows ?? 0) > 0;
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

    /**
     * The user ids in a project whose profile or events carry this identifier hash (an anonymous event's
     * through the user its anonymous id is linked to; one not linked to a user names nobody).
     */
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
          AND user_id IS NOT NULL
        UNION
        SELECT a.user_id FROM sdk_events e JOIN anonymous_ids a
          ON a.org_id = e.org_id AND a.project_id = e.project_id AND a.anonymous_id = e.anonymous_id
        WHERE e.org_id = ${orgId} AND e.project_id = ${projectId} AND e.${column} = ${hash} AND e.user_id IS NULL
        ORDER BY 1 LIMIT 101`.execute(tx);
      return rows.map((r) => r.user_id);
    },
  };
}

export type DataSubjectRequestsDal = ReturnType<typeof createDataSubjectRequestsDal>;
