/**
 * Geo records → country and ISO 3166-2 region, for the geo resolver (`geo-resolver.ts`).
 *
 * Regions: DB-IP gives subdivision NAMES (`state1: "England"`); we map them to ISO 3166-2 codes with
 * `iso-3166`'s list. A name maps only through an exact (case/diacritics-insensitive) match against
 * that list, a reviewed alias (English exonyms: "Bavaria" → DE-BY) or a per-country type word
 * ("Cluj County" → RO-CJ "Cluj"). Anything else — unknown or ambiguous — is `region: null`, never a
 * guess: a wrong region on an event is worse than none.
 */
import { iso31662 } from 'iso-3166';
import { REGION_ALIASES } from './geo-region-aliases.ts';

export type GeoResult = { country: string; region: string | null };

// ---------------------------------------------------------------------------------------------
// Subdivision name → ISO 3166-2 code.

const SPECIAL_LETTERS: Record<string, string> = {
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ı: 'i',
  ħ: 'h',
};
const SPECIAL_LETTER = /[łøđðþßæœıħ]/g;
const COMBINING_MARKS = /\p{M}+/gu;
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]+/gu;

/** Case-, diacritics- and punctuation-insensitive form of a place name ("Île-de-France" → "ile de france"). */
export function normalizePlaceName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .toLowerCase()
    .replace(SPECIAL_LETTER, (c) => SPECIAL_LETTERS[c] ?? c)
    .replace(NOT_LETTER_OR_DIGIT, ' ')
    .trim();
}

/**
 * Countries where DB-IP writes "<ISO name> <type word>" ("Cluj County" for RO-CJ "Cluj").
 * Only the country's own subdivision type: "Altay Kray" must not fall back to "Altay" (a republic).
 */
const DBIP_TYPE_WORDS: Record<string, readonly string[]> = {
  AL: ['County'],
  HU: ['County'],
  KE: ['County'],
  LR: ['County'],
  RO: ['County'],
  BO: ['Department'],
  CO: ['Department'],
  GT: ['Department'],
  HN: ['Department'],
  NI: ['Department'],
  PE: ['Department'],
  PY: ['Department'],
  SV: ['Department'],
  UY: ['Department'],
  CR: ['Province'],
  EC: ['Province'],
  IR: ['Province'],
  NP: ['Province'],
  PA: ['Province'],
  TR: ['Province'],
  VN: ['Province'],
  ZM: ['Province'],
  CL: ['Region'],
  NA: ['Region'],
  PH: ['Region'],
  TZ: ['Region'],
  UG: ['Region'],
  MM: ['Region', 'State'],
  NZ: ['Region', 'District'],
  BD: ['Division'],
  BT: ['District'],
  BZ: ['District'],
  CI: ['District'],
  NG: ['State'],
  TN: ['Governorate'],
  MD: ['Municipality'],
  TL: ['Municipality'],
  JM: ['Parish'],
};

/** Countries where iso-3166 carries the type word in the name ("Guangdong Sheng", "Stockholms län"). */
const ISO_TYPE_WORDS: Record<string, RegExp> = {
  CN: / (sheng|shi)$/,
  SE: /s? lan$/,
  KZ: / oblysy$/,
};

type Candidate = { code: string; firstLevel: boolean };

type RegionIndex = {
  aliases: Map<string, string>;
  names: Map<string, Candidate[]>;
};

let regionIndex: RegionIndex | undefined;

function buildRegionIndex(): RegionIndex {
  const codes = new Set(iso31662.map((e) => e.code));
  const names = new Map<string, Candidate[]>();
  const add = (key: string, candidate: Candidate) => {
    const list = names.get(key);
    if (list === undefined) names.set(key, [candidate]);
    else if (!list.some((c) => c.code === candidate.code)) list.push(candidate);
  };
  for (const entry of iso31662) {
    const country = entry.code.slice(0, entry.code.indexOf('-'));
    const candidate = { code: entry.code, firstLevel: entry.parent === country };
    // ISO writes some names inverted ("Asturias, Principado de", "Bristol, City of"): the part before
    // the comma is the name. (Later parts are designations or list fragments, so they are not indexed.)
    const forms = new Set<string>([
      normalizePlaceName(entry.name),
      normalizePlaceName(entry.name.split(',')[0]!),
    ]);
    const isoType = ISO_TYPE_WORDS[country];
    if (isoType) for (const f of [...forms]) forms.add(f.replace(isoType, ''));
    const typeWords = DBIP_TYPE_WORDS[country] ?? [];
    for (const form of forms) {
      if (form === '') continue;
      add(`${country}|${form}`, candidate);
      for (const word of typeWords) add(`${country}|${form} ${normalizePlaceName(word)}`, candidate);
    }
  }
  const aliases = new Map<string, string>();
  for (const [country, spec] of Object.entries(REGION_ALIASES)) {
    for (const item of spec.split(';')) {
      const [suffix, namesPart] = item.split('=');
      if (suffix === undefined || namesPart === undefined) continue;
      const code = `${country}-${suffix.trim()}`;
      if (!codes.has(code)) continue; // a test asserts this never happens
      for (const name of namesPart.split('|')) aliases.set(`${country}|${normalizePlaceName(name)}`, code);
    }
  }
  return { aliases, names };
}

function index(): RegionIndex {
  regionIndex ??= buildRegionIndex();
  return regionIndex;
}

/** Build the name index now rather than on the first lookup (the resolver calls this at load time). */
export function warmRegionIndex(): void {
  index();
}

/** Every alias as `[country, name, code]`, for tests and review. */
export function regionAliasEntries(): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const [country, spec] of Object.entries(REGION_ALIASES)) {
    for (const item of spec.split(';')) {
      const [suffix, namesPart] = item.split('=');
      if (suffix === undefined || namesPart === undefined) continue;
      for (const name of namesPart.split('|'))
        out.push([country, name.trim(), `${country}-${suffix.trim()}`]);
    }
  }
  return out;
}

/** ISO 3166-2 code for a subdivision name in a country, or null when there is no unambiguous match. */
export function regionCodeForName(country: string, name: string): string | null {
  const normalized = normalizePlaceName(name);
  if (normalized === '') return null;
  return index().aliases.get(`${country}|${normalized}`) ?? isoNameMatch(country, normalized);
}

/**
 * The ISO list alone (no aliases): a unique first-level subdivision of that name, else a unique
 * deeper one; null when absent or ambiguous. Exported so a test can check every alias against it.
 */
export function isoNameMatch(country: string, name: string): string | null {
  const candidates = index().names.get(`${country}|${normalizePlaceName(name)}`);
  if (candidates === undefined) return null;
  const firstLevel = candidates.filter((c) => c.firstLevel);
  if (firstLevel.length === 1) return firstLevel[0]!.code;
  if (firstLevel.length === 0 && candidates.length === 1) return candidates[0]!.code;
  return null; // ambiguous: two subdivisions share the name
}

/** An ISO 3166-2 code given by the database itself (GeoIP2 `subdivisions[0].iso_code`, e.g. "ENG"). */
function regionCodeFromIso(country: string, isoCode: string): string | null {
  const suffix = isoCode.toUpperCase();
  return ISO_SUBDIVISION_SUFFIX.test(suffix) ? `${country}-${suffix}` : null;
}

// ---------------------------------------------------------------------------------------------
// Records → result.

const COUNTRY_CODE = /^[A-Z]{2}$/;
const ISO_SUBDIVISION_SUFFIX = /^[A-Z0-9]{1,3}$/;

type DbipRecord = { country_code?: unknown; state1?: unknown };
type MaxmindRecord = {
  country?: { iso_code?: unknown };
  subdivisions?: Array<{ iso_code?: unknown; names?: { en?: unknown } }>;
};

/** Memo of (country, name) → code: DB-IP has ~4,000 distinct pairs, so this stays small. */
const regionMemo = new Map<string, string | null>();
const REGION_MEMO_MAX = 50_000;

function memoRegion(country: string, name: string): string | null {
  const key = `${country}\u0000${name}`;
  let code = regionMemo.get(key);
  if (code === undefined) {
    code = regionCodeForName(country, name);
    if (regionMemo.size >= REGION_MEMO_MAX) regionMemo.clear();
    regionMemo.set(key, code);
  }
  return code;
}

/** Understands both record shapes: ip-location-db (`country_code`, `state1`) and GeoIP2 (`country.iso_code`, `subdivisions`). */
export function geoFromRecord(record: unknown): GeoResult | null {
  if (typeof record !== 'object' || record === null) return null;
  const flat = record as DbipRecord;
  if (typeof flat.country_code === 'string') {
    const country = flat.country_code.toUpperCase();
    if (!COUNTRY_CODE.test(country) || country === 'ZZ') return null;
    const region =
      typeof flat.state1 === 'string' && flat.state1 !== '' ? memoRegion(country, flat.state1) : null;
    return { country, region };
  }
  const mm = record as MaxmindRecord;
  const iso = mm.country?.iso_code;
  if (typeof iso !== 'string') return null; // e.g. only registered_country (anycast, satellite): not a location
  const country = iso.toUpperCase();
  if (!COUNTRY_CODE.test(country)) return null;
  const sub = Array.isArray(mm.subdivisions) ? mm.subdivisions[0] : undefined;
  let region: string | null = null;
  if (typeof sub?.iso_code === 'string' && sub.iso_code !== '')
    region = regionCodeFromIso(country, sub.iso_code);
  else if (typeof sub?.names?.en === 'string') region = memoRegion(country, sub.names.en);
  return { country, region };
}
