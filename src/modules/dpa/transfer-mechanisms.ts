import { iso31661 } from 'iso-3166';
import { type MechanismCode, TRANSFER_RULES } from '../../privacy/transfer-rules.ts';

/**
 * Which lawful transfer mechanism a countersigned DPA needs, from the countries where the partner
 * processes data (all primary processing is in the United States), and which customer requirements
 * legal must review first. The page: "Countries where you process data (so we know which SCC module
 * applies)" and "Any customer-specific requirements (HIPAA, COPPA, FERPA, etc.) - flag these early;
 * not all of them fit our current architecture." The rules themselves are policy (privacy/transfer-rules.ts),
 * which the data-protection page renders too.
 */
// biome-ignore format: one country code list, kept compact
export const EU_MEMBER_STATES = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE',
  'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
] as const;
export const EEA_NON_EU = ['IS', 'LI', 'NO'] as const;

export type { MechanismCode };

export type TransferMechanism = { mechanism: MechanismCode; name: string; countries: string[] };

const EEA = new Set<string>([...EU_MEMBER_STATES, ...EEA_NON_EU]);
const ASSIGNED = new Set(iso31661.map((c) => c.alpha2));
/** Spellings partners use that are not ISO 3166-1 codes. */
const ALIASES: Record<string, string> = { UK: 'GB', EL: 'GR' };

/** ISO 3166-1 alpha-2 code (case-insensitive, UK/EL accepted); undefined for anything else. */
export function normalizeCountry(input: string): string | undefined {
  const upper = input.trim().toUpperCase();
  const code = ALIASES[upper] ?? upper;
  return ASSIGNED.has(code) ? code : undefined;
}

function mechanismFor(country: string): MechanismCode | null {
  if (country === 'US') return null;
  if (EEA.has(country)) return 'eu_scc_module_2';
  if (country === 'GB') return 'uk_idta_addendum';
  if (country === 'CH') return 'swiss_fadp_scc';
  return 'legal_review';
}

/** The mechanisms needed for these (normalized) countries; empty when processing is in the US only. */
export function transferMechanisms(countries: readonly string[]): TransferMechanism[] {
  const byMechanism = new Map<MechanismCode, string[]>();
  for (const country of countries) {
    const mechanism = mechanismFor(country);
    if (mechanism === null) continue;
    const list = byMechanism.get(mechanism) ?? [];
    if (!list.includes(country)) list.push(country);
    byMechanism.set(mechanism, list);
  }
  return TRANSFER_RULES.filter((r) => byMechanism.has(r.mechanism)).map((r) => ({
    mechanism: r.mechanism,
    name: r.name,
    countries: (byMechanism.get(r.mechanism) ?? []).sort(),
  }));
}

const KNOWN_REQUIREMENTS: readonly { pattern: RegExp; requirement: string; reason: string }[] = [
  {
    pattern: /\bhipaa\b|\bphi\b|business associate/i,
    requirement: 'HIPAA',
    reason:
      'Protected health information needs a Business Associate Agreement and controls the current architecture may not provide; legal reviews it before signature.',
  },
  {
    pattern: /\bcoppa\b/i,
    requirement: 'COPPA',
    reason:
      'Data of children under 13 needs verifiable parental consent and limits on collection and retention; legal reviews whether the current product fits.',
  },
  {
    pattern: /\bferpa\b/i,
    requirement: 'FERPA',
    reason:
      'Student education records carry school-official and re-disclosure obligations; legal reviews them before signature.',
  },
  {
    pattern: /\bglba\b/i,
    requirement: 'GLBA',
    reason: 'Financial-institution customer data carries safeguard and sharing rules; legal reviews them.',
  },
  {
    pattern: /\bpci(?:[\s-]?dss)?\b/i,
    requirement: 'PCI DSS',
    reason: 'Layers does not store cardholder data; legal and security review what the requirement asks.',
  },
];

export type ReviewFlag = { requirement: string; reason: string };

/** Every special requirement is flagged for review: known ones with why, others as stated. */
export function reviewFlags(requirements: readonly string[]): ReviewFlag[] {
  return requirements.map((raw) => {
    const known = KNOWN_REQUIREMENTS.find((k) => k.pattern.test(raw));
    return known
      ? { requirement: known.requirement, reason: known.reason }
      : {
          requirement: raw.trim(),
          reason:
            'Not a requirement we have reviewed before; legal reviews whether it fits the current architecture.',
        };
  });
}
