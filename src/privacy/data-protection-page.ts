import {
  DATA_CLASSES,
  type DataClass,
  isAdjustable,
  NOT_STORED_CATEGORIES,
  PARTNERSHIP_END_GRACE_MS,
  type PageSection,
} from './data-classes.ts';
import type { Block, Cell, PageDocument } from './page-document.ts';
import { regionName, type StoreDeclaration } from './residency.ts';
import { describeRetention, effectiveRetentionMs, formatDuration } from './retention-policy.ts';
import type { SubprocessorEntry } from './subprocessors.ts';
import { TRANSFER_RULES } from './transfer-rules.ts';

/**
 * The data-protection page (shared/spec/data-protection-page.txt) as a document built from what this
 * deployment enforces: retention from the data-class registry (the values the sweeper applies to an
 * org without contract terms), the region and its stores, the sub-processor list, the contacts. Served
 * as HTML at GET /data-protection and printed as Markdown by `layers docs data-protection`.
 *
 * The retention summary carries, per class, `data-data-class` and `data-retention-ms` attributes in
 * HTML, so tests (and anyone) can check the page against the sweeper without parsing prose.
 */
export type PageInput = {
  region: string;
  stores: readonly StoreDeclaration[];
  subprocessors: readonly SubprocessorEntry[];
  contacts: { legal: string; security: string };
  /** The retention mode in force per content-generation provider (modules/generation/retention-modes.ts). */
  llmRetention?: readonly {
    provider: string;
    vendor: string;
    configured: boolean;
    mode: string;
    note: string;
  }[];
};

export const PAGE_TITLE = 'Data protection';

/** The page's input for a deployment: its region and stores (config), sub-processors and contacts. */
export function pageInputFor(
  config: { region: string; contacts: { legal: string; security: string } },
  stores: readonly StoreDeclaration[],
  subprocessors: readonly SubprocessorEntry[],
): PageInput {
  return { region: config.region, stores, subprocessors, contacts: { ...config.contacts } };
}

const SECTIONS: { section: PageSection; title: string }[] = [
  { section: 'partner_api', title: 'Partner API traffic' },
  { section: 'sdk_events', title: 'Customer SDK events' },
  { section: 'content', title: 'Generated & inbound content' },
  { section: 'account', title: 'Partner account records' },
];

const enforcedMs = (cls: DataClass) => effectiveRetentionMs(cls, new Map());

function retentionCell(cls: DataClass): string {
  const enforced = describeRetention(cls, enforcedMs(cls));
  const adjustable =
    isAdjustable(cls) && cls.bounds
      ? `; adjustable by contract from ${formatDuration(cls.bounds.minMs)} to ${formatDuration(cls.bounds.maxMs)}`
      : '';
  // The page's own words, then the enforced rule unless the words already say it.
  const sameWords = cls.promise.toLowerCase().startsWith(enforced.toLowerCase());
  const rule =
    sameWords || ['until_revoked', 'kept'].includes(cls.clock.kind) ? '' : `: ${lowerFirst(enforced)}`;
  return `${cls.promise}${rule}${adjustable}`;
}

const lowerFirst = (s: string) => `${s.charAt(0).toLowerCase()}${s.slice(1)}`;

function categoryTables(): Block[] {
  const blocks: Block[] = [];
  for (const { section, title } of SECTIONS) {
    const rows: Cell[][] = [];
    for (const cls of DATA_CLASSES.filter((c) => c.page.section === section))
      rows.push([
        cls.page.category,
        cls.page.examples,
        { text: retentionCell(cls), data: { 'data-class': cls.name } },
      ]);
    for (const item of NOT_STORED_CATEGORIES.filter((n) => n.section === section)) {
      const same = item.sameAs ? DATA_CLASSES.find((c) => c.name === item.sameAs) : undefined;
      const text = same
        ? `${item.retention} (${describeRetention(same, enforcedMs(same)).toLowerCase()})`
        : item.retention;
      rows.push([item.category, item.examples, text]);
    }
    if (rows.length === 0) continue;
    blocks.push({ kind: 'heading', level: 3, text: title });
    if (section === 'account')
      blocks.push({
        kind: 'paragraph',
        text: 'For partner-representative data and the records of our agreement, Layers is the controller.',
      });
    blocks.push({ kind: 'table', columns: ['Category', 'Examples', 'Retention'], rows });
  }
  return blocks;
}

function retentionSummary(): Block {
  const rows: Cell[][] = DATA_CLASSES.map((cls) => {
    const ms = enforcedMs(cls);
    return [
      `${cls.title} (\`${cls.name}\`)`,
      {
        text: describeRetention(cls, ms),
        data: {
          'data-class': cls.name,
          'retention-ms': ms === null ? 'none' : String(ms),
          clock: cls.clock.kind,
        },
      },
      cls.tables.length > 0 ? cls.tables.map((t) => `\`${t}\``).join(', ') : 'not stored yet',
    ];
  });
  const events = DATA_CLASSES.find((c) => c.name === 'sdk_events');
  if (events)
    rows.push([
      'Hashed PII (email/phone)',
      `Same as the event it rides on (${describeRetention(events, enforcedMs(events)).toLowerCase()})`,
      '`sdk_events`, `user_profiles`',
    ]);
  return {
    kind: 'table',
    id: 'retention-summary',
    columns: ['Data class', 'Retention (enforced)', 'Stored in'],
    rows,
  };
}

function partnershipEnd(): Block {
  const names = (pick: (c: DataClass) => boolean) =>
    DATA_CLASSES.filter(pick)
      .map((c) => c.title)
      .join(', ');
  const partnershipClock = DATA_CLASSES.filter(
    (c) => c.atPartnershipEnd === 'after_grace' && c.clock.kind === 'partnership',
  );
  return {
    kind: 'list',
    items: [
      `At once (when the partnership ends): API keys are revoked; ${names((c) => c.atPartnershipEnd === 'immediately')} are deleted.`,
      `${formatDuration(PARTNERSHIP_END_GRACE_MS)} later: ${names(
        (c) => c.atPartnershipEnd === 'after_grace' && c.clock.kind !== 'partnership',
      )}.`,
      ...partnershipClock.map((c) => {
        const ms = effectiveRetentionMs(c, new Map());
        return `${c.title}: ${ms === null ? 'at the end' : `${formatDuration(ms)} after the end`}${
          isAdjustable(c) ? ' (longer by contract)' : ''
        }.`;
      }),
      `Kept: ${names((c) => c.atPartnershipEnd === 'kept')} (no personal data).`,
    ],
  };
}

function adjustableSentence(): string {
  const parts = DATA_CLASSES.filter(isAdjustable).map((c) => {
    const b = c.bounds as { minMs: number; maxMs: number };
    return `${c.title} ${formatDuration(b.minMs)}–${formatDuration(b.maxMs)}`;
  });
  return `At the partner tier we can adjust retention by contract, subject to the minimum needed for the product to function: ${parts.join('; ')}. Profiles and hashed identifiers follow the events they ride on.`;
}

/** What left one org for each vendor in the last 30 days (the egress ledger), for a page read with a key. */
export type PageEgress = readonly {
  vendor: string;
  purposes: readonly string[];
  data_classes: readonly string[];
  requests: number;
  records: number;
  bytes: number;
  errors: number;
}[];

function egressBlocks(input: PageInput, egress: PageEgress | undefined): Block[] {
  const blocks: Block[] = [
    {
      kind: 'paragraph',
      text: 'Every call to a sub-processor leaves through one egress gateway: it reaches only the hosts this list names, for the purposes it names; it refuses content that looks like end-customer identifiers (emails, phone numbers, IPs, device ids, hashes), except hashed identifiers and device ids sent to a Conversions API destination your project enabled; and it records each call (vendor, purpose, data classes, counts, never content) in the egress ledger, served per day at `GET /v1/data-protection/egress`.',
    },
  ];
  if (egress === undefined) {
    blocks.push({
      kind: 'paragraph',
      text: 'Read this page with your secret key (`Authorization: Bearer lyr_sk_…`) to see what left your organization for each vendor in the last 30 days.',
    });
    return blocks;
  }
  blocks.push({ kind: 'heading', level: 3, text: 'What left your organization in the last 30 days' });
  if (egress.length === 0) {
    blocks.push({
      kind: 'paragraph',
      text: 'Nothing left your organization for a sub-processor in the last 30 days.',
    });
    return blocks;
  }
  const nameOf = (id: string) => input.subprocessors.find((s) => s.id === id)?.name ?? id;
  blocks.push({
    kind: 'table',
    id: 'egress',
    columns: ['Vendor', 'Purposes', 'Data classes', 'Requests', 'Records', 'Bytes sent', 'Errors'],
    rows: egress.map((e) => [
      { text: nameOf(e.vendor), data: { vendor: e.vendor } },
      e.purposes.join(', '),
      e.data_classes.length > 0 ? e.data_classes.join(', ') : 'none',
      String(e.requests),
      String(e.records),
      String(e.bytes),
      String(e.errors),
    ]),
  });
  return blocks;
}

/** Content generation: the retention mode in force per provider (each generation states its own too). */
function llmRetentionBlocks(input: PageInput): Block[] {
  if (!input.llmRetention || input.llmRetention.length === 0) return [];
  return [
    { kind: 'heading', level: 3, text: 'Content generation: retention mode per provider' },
    {
      kind: 'paragraph',
      text: 'Prompts are built only from the fields of your brief (never from events, profiles, user ids or hashes), and every generation records the retention mode in force (`retention_mode`) with the SHA-256 and size of its prompt, never the prompt itself.',
    },
    {
      kind: 'table',
      id: 'llm-retention',
      columns: ['Provider', 'Vendor', 'Configured here', 'Retention mode', 'How'],
      rows: input.llmRetention.map((r): Cell[] => [
        { text: r.provider, data: { provider: r.provider } },
        r.vendor,
        r.configured ? 'yes' : 'no',
        { text: r.mode, data: { 'retention-mode': r.mode } },
        r.note,
      ]),
    },
  ];
}

/** The page; with `egress` (read with a key), it also shows what left that org in the last 30 days. */
export function buildDataProtectionPage(input: PageInput, egress?: PageEgress): PageDocument {
  const { contacts } = input;
  const where = regionName(input.region);
  const code = input.region.toUpperCase();
  const llms = input.subprocessors.filter((s) => s.category === 'llm').map((s) => s.name);
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: PAGE_TITLE },
    {
      kind: 'paragraph',
      text: `Controller/processor roles, data categories, retention, ${code} residency, DPA request channel.`,
    },
    {
      kind: 'paragraph',
      text: 'How Layers and partners divide responsibility for end-customer data, what we keep and for how long, and where it physically lives.',
    },
    {
      kind: 'paragraph',
      text: `For a countersigned Data Processing Agreement, email ${contacts.legal} with the signatory entity, countries of processing, and your requested governing law (or send them to \`POST /v1/dpa-requests\`). The template we send follows the EU Commission's SCCs where applicable.`,
    },
    {
      kind: 'paragraph',
      text: 'This page describes current technical and contractual defaults. Commercial terms (signed DPA, custom retention, data-residency commitments, data-processing impact assessments) apply at partner tier under a mutual agreement.',
    },
    {
      kind: 'paragraph',
      text: 'The retention values below are generated from this deployment’s data-class registry: they are the values the hourly retention sweeper enforces, and `GET /v1/data-protection/retention` reports your organization’s own.',
    },
    { kind: 'heading', level: 2, text: 'Roles' },
    { kind: 'paragraph', text: 'Under GDPR and CCPA terminology:' },
    {
      kind: 'list',
      items: [
        'You (the partner) are the data controller for your end customers. You decide why and how end-customer data is collected and processed.',
        "Layers is a data processor acting on your documented instructions. We process end-customer data only to deliver the services you've asked us to deliver (content generation, ad deployment, attribution).",
        'For partner-representative data (the humans at your company who log into Layers or receive API keys), Layers is the controller.',
      ],
    },
    {
      kind: 'paragraph',
      text: 'This distinction matters in practice. Data-subject requests (access, deletion, portability) from an end customer land with you. You ask us, we execute. See Data-subject requests below.',
    },
    { kind: 'heading', level: 2, text: 'Data categories' },
    { kind: 'paragraph', text: 'What we store, broken out by source.' },
    ...categoryTables(),
    { kind: 'paragraph', text: adjustableSentence() },
    { kind: 'heading', level: 2, text: 'Data residency' },
    {
      kind: 'paragraph',
      text: `All primary processing happens in ${where}. Partner state, customer event records, and generated media are stored in ${code}-region infrastructure. The current sub-processor list - naming each vendor that stores or handles partner or end-customer data - is below and at \`GET /v1/subprocessors\`; contractual commitments on residency are in the DPA.`,
    },
    {
      kind: 'table',
      id: 'stores',
      columns: ['Store', 'Holds', 'Region'],
      rows: input.stores.map((s) => [
        s.store,
        s.description,
        { text: s.region ?? 'undeclared', data: { store: s.store } },
      ]),
    },
    { kind: 'heading', level: 3, text: 'Sub-processors' },
    input.subprocessors.length === 0
      ? { kind: 'paragraph', text: 'This deployment uses no sub-processor.' }
      : {
          kind: 'table',
          id: 'subprocessors',
          columns: ['Name', 'Purpose', 'Data', 'Location', 'Notes'],
          rows: input.subprocessors.map((s) => [
            s.name,
            s.purpose,
            s.data_categories.join('; '),
            s.location,
            s.notes ?? '',
          ]),
        },
    ...egressBlocks(input, egress),
    { kind: 'heading', level: 3, text: 'EU partners' },
    {
      kind: 'paragraph',
      text:
        input.region === 'us'
          ? `Layers does not currently offer EU or APAC regional hosting - all primary processing is in the US. For EU partners who need to move personal data from the EU/EEA into the US, the DPA we countersign includes Standard Contractual Clauses as the lawful transfer mechanism - contact ${contacts.legal} to initiate.`
          : `All primary processing of this deployment is in ${where}. Where personal data moves across borders, the DPA we countersign names the lawful transfer mechanism - contact ${contacts.legal} to initiate.`,
    },
    {
      kind: 'table',
      id: 'transfer-mechanisms',
      columns: ['Where you process data', 'Transfer mechanism in the DPA'],
      rows: [...TRANSFER_RULES.map((r) => [r.appliesTo, r.name]), ['United States only', 'None needed']],
    },
    { kind: 'heading', level: 2, text: 'Data-subject requests' },
    {
      kind: 'paragraph',
      text: 'When an end customer asks you (the controller) to access, delete, or port their data:',
    },
    {
      kind: 'list',
      items: [
        'Access / portability. Use the per-user endpoint (`GET /v1/projects/:projectId/events/users/:userId`). Returns the event stream we hold for that user id.',
        `Deletion. \`DELETE /v1/projects/:projectId/events/users/:userId\`, or email ${contacts.security} with the project id and the \`user_id\` values to erase.`,
        "Rectification. Send a corrected event via the SDK; the user's current-state properties will update. Past event records are immutable and represent what the SDK actually reported at the time.",
      ],
    },
    {
      kind: 'paragraph',
      text: 'If the request concerns hashed identifiers (email/phone that never entered our system in plaintext), we can match deterministically only if you re-hash with the same normalization (lower-case + trim for email, digits-only for phone).',
    },
    { kind: 'heading', level: 2, text: 'Retention summary' },
    retentionSummary(),
    { kind: 'paragraph', text: 'Custom retention terms are negotiated under your DPA.' },
    { kind: 'heading', level: 3, text: 'When a partnership ends' },
    partnershipEnd(),
    { kind: 'heading', level: 2, text: "What we don't do" },
    {
      kind: 'list',
      items: [
        "We don't sell or rent data to any third party.",
        `We don't train foundation models on partner or end-customer data.${
          llms.length > 0
            ? ` Third-party LLMs we call (${llms.join(', ')}) are used with training opt-out / zero-retention modes where the vendor offers them; where not, only the narrowest prompt necessary is sent.`
            : ''
        }`,
        "We don't build shadow profiles across partners. A `user_id` in your project is scoped to your organization.",
      ],
    },
    ...llmRetentionBlocks(input),
    { kind: 'heading', level: 2, text: 'Getting a signed DPA' },
    { kind: 'paragraph', text: `Today: email ${contacts.legal} (or \`POST /v1/dpa-requests\`) with:` },
    {
      kind: 'list',
      items: [
        'The legal entity that will countersign.',
        'Countries where you process data (so we know which SCC module applies).',
        'Any customer-specific requirements (HIPAA, COPPA, FERPA, etc.) - flag these early; not all of them fit our current architecture.',
      ],
    },
    {
      kind: 'paragraph',
      text: "The default posture is click-through Terms of Service plus this page for everyone, and a countersigned DPA for partner-tier customers or anyone processing EU personal data at volume. We don't hide the difference - if what you need is a signed contract, say so.",
    },
    {
      kind: 'paragraph',
      text: `Contacts: legal and DPAs ${contacts.legal}; security and data-subject requests ${contacts.security}.`,
    },
  ];
  return { title: PAGE_TITLE, blocks };
}
