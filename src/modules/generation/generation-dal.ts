import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { GenerationsTable } from '../../db/schema-generation.ts';

export type GenerationRow = Selectable<GenerationsTable>;

/** SQL of the generations table (tenant transactions; RLS by org). */
export function createGenerationDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      row: Omit<
        GenerationRow,
        'copy' | 'error_code' | 'error_message' | 'attempts' | 'completed_at' | 'brief'
      > & {
        brief: object;
      },
    ): Promise<GenerationRow> {
      return tx
        .insertInto('generations')
        .values({
          ...row,
          brief: JSON.stringify(row.brief),
          copy: null,
          error_code: null,
          error_message: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async find(tx: Kysely<Database>, orgId: string, id: string): Promise<GenerationRow | undefined> {
      return tx
        .selectFrom('generations')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** Locks the row for the job that runs it (a second worker waits, then sees its status). */
    async lock(tx: Kysely<Database>, orgId: string, id: string): Promise<GenerationRow | undefined> {
      return tx
        .selectFrom('generations')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
    },

    async update(
      tx: Kysely<Database>,
      orgId: string,
      id: string,
      patch: Partial<{
        status: GenerationRow['status'];
        copy: string | null;
        error_code: string | null;
        error_message: string | null;
        prompt_sha256: string;
        prompt_bytes: number;
        attempts: number;
        completed_at: Date | null;
      }> & { updated_at: Date },
    ): Promise<GenerationRow> {
      return tx
        .updateTable('generations')
        .set(patch)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    },
  };
}

export type GenerationDal = ReturnType<typeof createGenerationDal>;
