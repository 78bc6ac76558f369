import type { SelectQueryBuilder } from 'kysely';

/**
 * Cursor pagination over time-sortable ids, newest first (the API.md list convention):
 * `starting_after` pages towards older objects, `ending_before` towards newer ones.
 */
export type PageParams = { limit?: number; starting_after?: string; ending_before?: string };
export type Page<T> = { object: 'list'; data: T[]; has_more: boolean };

export const DEFAULT_LIMIT = 10;

export async function paginate<DB, TB extends keyof DB, O extends { id: string }>(
  query: SelectQueryBuilder<DB, TB, O>,
  idColumn: string,
  params: PageParams,
): Promise<{ rows: O[]; has_more: boolean }> {
  const limit = params.limit ?? DEFAULT_LIMIT;
  // biome-ignore lint/suspicious/noExplicitAny: Kysely cannot type a column name passed as a string.
  const col = idColumn as any;
  if (params.ending_before) {
    const rows = await query
      .where(col, '>', params.ending_before)
      .orderBy(col, 'asc')
      .limit(limit + 1)
      .execute();
    const has_more = rows.length > limit;
    return { rows: rows.slice(0, limit).reverse(), has_more };
  }
  let q = query;
  if (params.starting_after) q = q.where(col, '<', params.starting_after);
  const rows = await q
    .orderBy(col, 'desc')
    .limit(limit + 1)
    .execute();
  return { rows: rows.slice(0, limit), has_more: rows.length > limit };
}

export function toPage<R, T>(result: { rows: R[]; has_more: boolean }, map: (row: R) => T): Page<T> {
  return { object: 'list', data: result.rows.map(map), has_more: result.has_more };
}
