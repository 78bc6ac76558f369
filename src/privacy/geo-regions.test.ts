import { iso31662 } from 'iso-3166';
import { describe, expect, it } from 'vitest';
import {
  geoFromRecord,
  isoNameMatch,
  normalizePlaceName,
  regionAliasEntries,
  regionCodeForName,
} from './geo-regions.ts';

const ISO_CODES = new Set(iso31662.map((e) => e.code));

describe('regionCodeForName (subdivision name → ISO 3166-2)', () => {
  it.each([
    ['GB', 'England', 'GB-ENG'],
    ['GB', 'Scotland', 'GB-SCT'],
    ['US', 'California', 'US-CA'],
    ['US', 'Washington', 'US-WA'],
    ['US', 'District of Columbia', 'US-DC'],
    ['CA', 'Quebec', 'CA-QC'],
    ['AU', 'New South Wales', 'AU-NSW'],
    // case, diacritics, punctuation
    ['FR', 'Ile-de-France', 'FR-IDF'],
    ['FR', 'ÎLE DE FRANCE', 'FR-IDF'],
    ['DE', 'Baden-Wurttemberg', 'DE-BW'],
    ['JP', 'Tokyo', 'JP-13'],
    ['NO', 'Trondelag', 'NO-50'],
    ['VN', 'Lam Dong', 'VN-35'],
    // reviewed aliases (English exonyms, DB-IP spellings)
    ['DE', 'Bavaria', 'DE-BY'],
    ['DE', 'North Rhine-Westphalia', 'DE-NW'],
    ['IT', 'Lombardy', 'IT-25'],
    ['JP', 'Chiba', 'JP-12'],
    ['UA', 'Kyiv', 'UA-32'], // DB-IP's "Kyiv" is the oblast (Bila Tserkva, Brovary…)
    ['UA', 'Kyiv City', 'UA-30'],
    ['ES', 'Valencia', 'ES-VC'], // the community (Alicante, Castellón…), not the province
    // ISO names written inverted or bilingual, and with their type word
    ['CZ', 'Praha', 'CZ-10'],
    ['ES', 'Asturias', 'ES-AS'],
    ['GB', 'Bristol', 'GB-BST'],
    ['EE', 'Tartu', 'EE-79'], // two municipalities share the ISO name; DB-IP means the county
    ['CN', 'Guangdong', 'CN-GD'],
    ['SE', 'Stockholm', 'SE-AB'],
    // DB-IP's "<name> <type word>" in countries that use that type
    ['RO', 'Cluj County', 'RO-CJ'],
    ['CO', 'Valle del Cauca Department', 'CO-VAC'],
    ['RU', 'Altay Kray', 'RU-ALT'],
  ])('%s %s → %s', (country, name, code) => {
    expect(regionCodeForName(country, name)).toBe(code);
  });

  it.each([
    ['GB', 'Atlantis'],
    ['GB', 'California'], // right name, wrong country
    ['TW', 'Hsinchu'], // a city and a county share the name: ambiguous
    ['TW', 'Taiwan'], // the whole country is not a region
    ['PE', 'Lima Province'], // DB-IP files metropolitan Lima under two names: either code would be a guess
    ['RU', 'Altay Republic Kray'],
    ['US', ''],
    ['US', '  '],
  ])('%s %j → null (never a guess)', (country, name) => {
    expect(regionCodeForName(country, name)).toBeNull();
  });

  it('normalizes place names for comparison only', () => {
    expect(normalizePlaceName('Provence-Alpes-Côte-d’Azur')).toBe('provence alpes cote d azur');
    expect(normalizePlaceName('Łódzkie')).toBe('lodzkie');
    expect(normalizePlaceName('Møre og Romsdal')).toBe('more og romsdal');
  });

  it('every alias names an ISO 3166-2 code that exists, in the right country', () => {
    const entries = regionAliasEntries();
    expect(entries.length).toBeGreaterThan(400);
    for (const [country, name, code] of entries) {
      expect(ISO_CODES.has(code), `${country} ${name} → ${code}`).toBe(true);
      expect(code.startsWith(`${country}-`)).toBe(true);
      expect(regionCodeForName(country, name)).toBe(code);
    }
  });

  it('an alias is only there where the ISO list alone has no answer, or a wrong one decided on purpose', () => {
    // Each override was checked against the cities DB-IP files under the name.
    const intended = new Set([
      'CZ|Zlin', // the region, not the district of the same name
      'ES|Valencia', // the community (Alicante, Castellón…), not the province
      'FR|Alsace', // the former region, now part of Grand Est (first level), not the collectivity
      'LT|Vilnius', // counties, not the municipalities of the same names
      'LT|Kaunas',
      'LT|Siauliai',
      'LT|Utena',
      'LT|Panevezys',
      'LT|Telsiai',
      'LT|Alytus',
      'UA|Kyiv', // the oblast (Bila Tserkva, Brovary…), not the city
    ]);
    const overrides: string[] = [];
    const redundant: string[] = [];
    for (const [country, name, code] of regionAliasEntries()) {
      const iso = isoNameMatch(country, name);
      if (iso === code) redundant.push(`${country}|${name}`);
      else if (iso !== null) overrides.push(`${country}|${name}`);
    }
    expect(redundant).toEqual([]);
    expect(new Set(overrides)).toEqual(intended);
  });
});

describe('geoFromRecord', () => {
  it('reads the ip-location-db (DB-IP) record shape', () => {
    expect(geoFromRecord({ country_code: 'GB', state1: 'England', city: 'London' })).toEqual({
      country: 'GB',
      region: 'GB-ENG',
    });
    expect(geoFromRecord({ country_code: 'SG', state1: '' })).toEqual({ country: 'SG', region: null });
    expect(geoFromRecord({ country_code: 'ZZ', state1: 'x' })).toBeNull();
  });

  it('reads the MaxMind GeoIP2 record shape', () => {
    expect(
      geoFromRecord({
        country: { iso_code: 'GB' },
        subdivisions: [{ iso_code: 'ENG' }, { iso_code: 'LND' }],
      }),
    ).toEqual({
      country: 'GB',
      region: 'GB-ENG',
    });
    expect(
      geoFromRecord({ country: { iso_code: 'DE' }, subdivisions: [{ names: { en: 'Bavaria' } }] }),
    ).toEqual({
      country: 'DE',
      region: 'DE-BY',
    });
    expect(geoFromRecord({ country: { iso_code: 'US' } })).toEqual({ country: 'US', region: null });
    // Only the registrant's country is known (anycast, satellite): that is not a location.
    expect(geoFromRecord({ registered_country: { iso_code: 'AU' } })).toBeNull();
  });

  it('never throws on odd records', () => {
    for (const r of [
      null,
      undefined,
      42,
      'GB',
      [],
      {},
      { country_code: 7 },
      { country: null },
      { subdivisions: 'x' },
    ]) {
      expect(() => geoFromRecord(r)).not.toThrow();
    }
  });
});
