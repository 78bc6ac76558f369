/**
 * The lawful transfer mechanisms a countersigned DPA can rest on, by where the partner processes data
 * (all primary processing is in the United States). Policy, like the data-class registry: the
 * data-protection page lists them, and the DPA module (modules/dpa/transfer-mechanisms.ts) picks
 * the ones a request needs.
 */
export type MechanismCode = 'eu_scc_module_2' | 'uk_idta_addendum' | 'swiss_fadp_scc' | 'legal_review';

export const TRANSFER_RULES: readonly { mechanism: MechanismCode; appliesTo: string; name: string }[] = [
  {
    mechanism: 'eu_scc_module_2',
    appliesTo: 'EU/EEA',
    name: 'EU Standard Contractual Clauses, controller-to-processor module (Module 2)',
  },
  {
    mechanism: 'uk_idta_addendum',
    appliesTo: 'United Kingdom',
    name: 'UK International Data Transfer Addendum to the EU Standard Contractual Clauses',
  },
  {
    mechanism: 'swiss_fadp_scc',
    appliesTo: 'Switzerland',
    name: 'EU Standard Contractual Clauses with the Swiss FADP amendments',
  },
  {
    mechanism: 'legal_review',
    appliesTo: 'other countries outside the United States',
    name: 'Local transfer rules, reviewed by legal before signature',
  },
];
