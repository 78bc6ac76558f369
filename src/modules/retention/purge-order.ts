/**
 * The order in which tables (or classes) can be purged without violating a foreign key: every table
 * before the tables it references. Computed from the catalog's foreign keys (PurgeDal.foreignKeys),
 * so a table added later is ordered correctly without anyone editing a list.
 */
export type ForeignKey = { child: string; parent: string };

/** Orders `tables` so that every table comes before the tables it references. */
export function deletionOrder(references: readonly ForeignKey[], tables: readonly string[]): string[] {
  return orderBefore(tables, (table) => references.filter((r) => r.parent === table).map((r) => r.child));
}

/**
 * Orders `items` so that every item comes after the items `mustPrecede(item)` names (those among
 * `items`); a depth-first topological sort that keeps the given order where nothing constrains it.
 */
export function orderBefore<T>(items: readonly T[], mustPrecede: (item: T) => readonly T[]): T[] {
  const wanted = new Set(items);
  const ordered: T[] = [];
  const visiting = new Set<T>();
  const done = new Set<T>();
  const visit = (item: T) => {
    if (done.has(item)) return;
    // A cycle cannot be ordered: the back edge is ignored, and a delete it blocks is retried later.
    if (visiting.has(item)) return;
    visiting.add(item);
    for (const before of mustPrecede(item)) if (wanted.has(before) && before !== item) visit(before);
    visiting.delete(item);
    done.add(item);
    ordered.push(item);
  };
  for (const item of items) visit(item);
  return ordered;
}
