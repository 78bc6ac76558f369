import { describe, expect, it } from 'vitest';
import { normalizeCountry, reviewFlags, transferMechanisms } from './transfer-mechanisms.ts';

describe('DPA transfer mechanisms', () => {
  it('needs none when processing stays in the United States', () => {
    expect(transferMechanisms(['US'])).toEqual([]);
  });

  it('names the mechanism per origin: EU/EEA SCC Module 2, UK addendum, Swiss FADP, others reviewed', () => {
    const result = transferMechanisms(['US', 'DE', 'FR', 'NO', 'GB', 'CH', 'BR', 'DE']);
    expect(result.map((m) => [m.mechanism, m.countries])).toEqual([
      ['eu_scc_module_2', ['DE', 'FR', 'NO']],
      ['uk_idta_addendum', ['GB']],
      ['swiss_fadp_scc', ['CH']],
      ['legal_review', ['BR']],
    ]);
    expect(result[0]?.name).toContain('Module 2');
    expect(result[0]?.name).toContain('controller-to-processor');
    expect(result[1]?.name).toContain('International Data Transfer Addendum');
    expect(result[2]?.name).toContain('Swiss FADP');
  });

  it('reads ISO codes in any case, with the UK and EL spellings', () => {
    expect(normalizeCountry('de')).toBe('DE');
    expect(normalizeCountry(' uk ')).toBe('GB');
    expect(normalizeCountry('EL')).toBe('GR');
    expect(normalizeCountry('XX')).toBeUndefined();
    expect(normalizeCountry('Germany')).toBeUndefined();
  });

  it('flags every special requirement for review, known ones with the reason', () => {
    const flags = reviewFlags(['HIPAA (we handle PHI)', 'coppa', 'FERPA', 'ISO 27001 report']);
    expect(flags.map((f) => f.requirement)).toEqual(['HIPAA', 'COPPA', 'FERPA', 'ISO 27001 report']);
    for (const f of flags) expect(f.reason).toMatch(/review/);
  });
});
