import { Type } from 'typebox';

/**
 * The typed description of a call to a third party. Every vendor call names who it is for (org and
 * project), which vendor (by its id in the sub-processor registry), why (a purpose), what it carries
 * (egress data classes and a record count), and the request itself. The gateway checks the
 * description against the registry before a socket opens and records it in the egress ledger.
 */

/** Why a call leaves. `capi` is the only purpose that may carry hashed identifiers and device ids. */
export const EGRESS_PURPOSES = [
  'oauth',
  'publishing',
  'metrics',
  'ads',
  'capi',
  'llm',
  'media_store',
] as const;
export type EgressPurpose = (typeof EGRESS_PURPOSES)[number];

/** The purposes as a schema (the registry file, the roll-up API). */
export const EgressPurposeSchema = Type.Union(
  [
    Type.Literal('oauth'),
    Type.Literal('publishing'),
    Type.Literal('metrics'),
    Type.Literal('ads'),
    Type.Literal('capi'),
    Type.Literal('llm'),
    Type.Literal('media_store'),
  ],
  { description: 'Why a call leaves for a third party' },
);

/**
 * What a call's body carries, in the ledger's words (never the content itself). Each class names the
 * purposes that may carry it; a call declaring a class its purpose may not carry is refused.
 */
export const EGRESS_DATA_CLASSES = {
  /**
   * OAuth codes, tokens and client credentials in the body of a token, refresh or revoke call. (A
   * token in an Authorization header authenticates a call; it is not a data class the call carries.)
   */
  oauth_credentials: { purposes: ['oauth'] },
  /** Prompts built from a project's briefs and content (never end-customer data). */
  project_content: { purposes: ['llm', 'publishing', 'ads'] },
  /** Image and video bytes a project generated. */
  generated_media: { purposes: ['media_store', 'publishing', 'ads'] },
  /** Captions, titles and privacy settings of a post. */
  post_content: { purposes: ['publishing', 'ads'] },
  /** Platform ids of posts, accounts and ad objects (public or the partner's own). */
  platform_ids: { purposes: ['publishing', 'metrics', 'ads', 'oauth', 'capi'] },
  /** Campaign, ad set and ad settings: names, budgets, schedules, targeting by country. */
  ad_settings: { purposes: ['ads'] },
  /** Conversion events: names, values, currencies, timestamps, event ids. */
  conversion_events: { purposes: ['capi'] },
  /** SHA-256 of end-customer emails and phone numbers (the platforms' matching keys). */
  hashed_identifiers: { purposes: ['capi'] },
  /** Advertising ids (IDFA/GAID), forwarded only when the end customer allowed ad tracking. */
  device_ids: { purposes: ['capi'] },
} as const satisfies Record<string, { purposes: readonly EgressPurpose[] }>;
export type EgressDataClass = keyof typeof EGRESS_DATA_CLASSES;

export function isEgressDataClass(name: string): name is EgressDataClass {
  return Object.hasOwn(EGRESS_DATA_CLASSES, name);
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The body: `json` (serialised here), `form` (application/x-www-form-urlencoded), `text`, or `bytes`
 * (opaque media; only purposes that may carry generated_media may send bytes, and bytes are not
 * scanned by the content guard: they are files the platform rendered, not text).
 */
export type EgressBody =
  | { json: unknown }
  | { form: Readonly<Record<string, string>> }
  | { text: string; contentType?: string }
  | { bytes: Uint8Array; contentType: string };

export type EgressCall = {
  orgId: string;
  /** The project the call works for; null for org-level calls (an ad account, an app token). */
  projectId: string | null;
  /** The vendor's `id` in the sub-processor registry. */
  vendor: string;
  purpose: EgressPurpose;
  /** What the body carries; an empty list is a call that carries nothing of ours (a status poll). */
  dataClasses: readonly EgressDataClass[];
  /** How many records (events, posts, objects) the call carries or asks for. */
  records: number;
  method: HttpMethod;
  /** The real vendor URL, always https and the vendor's own host (tests redirect it, never rename it). */
  url: string;
  headers?: Readonly<Record<string, string>>;
  body?: EgressBody;
  /**
   * Our own credentials that a vendor wants in the query string or form body (Meta's access_token
   * and appsecret_proof): added after the content guard ran (they are not end-customer data and a
   * SHA-256 HMAC would look like a hashed identifier) and never recorded. Prefer headers.
   */
  credentials?: { query?: Readonly<Record<string, string>>; form?: Readonly<Record<string, string>> };
  /**
   * Whether repeating the call is harmless. Defaults to true for GET, HEAD, PUT and DELETE; a POST
   * carrying the vendor's own idempotency key may say true. Only idempotent calls are retried after
   * a response or a timeout (a refused connection sent nothing and is retried for any call).
   */
  idempotent?: boolean;
  /** Whole-call deadline across attempts and backoff (default 30 s). */
  timeoutMs?: number;
  /** Attempts at most, the first included (default 3, at most 5). */
  maxAttempts?: number;
  /** Response bodies larger than this fail the call with `response_too_large` (default 10 MB). */
  maxResponseBytes?: number;
  /**
   * Whether the answer (response or EgressError of a call that left) waits until the call's ledger
   * row has committed (default true): a caller then never commits an effect of a call the ledger
   * could still lose in a crash. False only for a caller that awaits `recorded` itself before it
   * acknowledges its work (the forwarder, once for all the calls of a batch).
   */
  accounted?: boolean;
};

export type EgressResponse = {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
  attempts: number;
  /** Parses the body as JSON (throws on a body that is not JSON). */
  json<T = unknown>(): T;
  /**
   * Resolves when the call's ledger row is committed (true), or false if it had to be dropped (the
   * ledger's buffer overflowed while the database was away; counted). Never rejects. Already settled
   * when the answer comes, unless the call said `accounted: false` (see egress-ledger-writer).
   */
  recorded: Promise<boolean>;
};
