import { describe, expect, it } from 'vitest';
import { DATA_CLASSES, PURGE_KINDS } from '../../privacy/data-classes.ts';
import { createSweeperDals } from './sweeper-dals.ts';

describe('the retention module registers a purger for every purge kind', () => {
  const { purgers } = createSweeperDals();

  it('has exactly one purger per kind the registry defines', () => {
    expect(Object.keys(purgers).sort()).toEqual([...PURGE_KINDS].sort());
    for (const kind of PURGE_KINDS) {
      expect(typeof purgers[kind].purge, kind).toBe('function');
      expect(typeof purgers[kind].overdue, kind).toBe('function');
    }
  });

  it("finds a purger for every data class's kind", () => {
    for (const cls of DATA_CLASSES) expect(purgers[cls.purge], cls.name).toBeDefined();
  });
});
