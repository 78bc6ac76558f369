import path from 'node:path';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';

/**
 * The one place that reads `process.env`. Parsed once at boot and frozen; everything else receives the
 * resulting object, so tests build their own config instead of mutating the environment.
 */
const Env = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  LAYERS_DATA_DIR: Type.String({ default: './.layers' }),
  DATABASE_URL: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_APP_URL: Type.Optional(Type.String({ minLength: 1 })),
  LAYERS_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 24 })),
  LAYERS_ENCRYPTION_KEY: Type.Optional(Type.String({ minLength: 1 })),
  LAYERS_REGION: Type.String({ default: 'us', pattern: '^[a-z]{2}$' }),
  GEOIP_DB: Type.Optional(Type.String({ minLength: 1 })),
  // Where each store physically is (residency): checked against LAYERS_REGION at start-up.
  LAYERS_DATABASE_REGION: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z0-9]+)*$' })),
  LAYERS_MEDIA_DIR: Type.Optional(Type.String({ minLength: 1 })),
  LAYERS_MEDIA_REGION: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z0-9]+)*$' })),
  LAYERS_GEOIP_REGION: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z0-9]+)*$' })),
  LAYERS_SUBPROCESSORS_FILE: Type.Optional(Type.String({ minLength: 1 })),
  LAYERS_LEGAL_EMAIL: Type.String({ default: 'legal@layers.com', pattern: '^[^@\\s]+@[^@\\s]+$' }),
  LAYERS_SECURITY_EMAIL: Type.String({ default: 'security@layers.com', pattern: '^[^@\\s]+@[^@\\s]+$' }),
  TRUST_PROXY: Type.String({ default: '' }),
  LAYERS_ALLOW_PRIVATE_WEBHOOKS: Type.Boolean({ default: false }),
  LAYERS_ENV: Type.Union([Type.Literal('development'), Type.Literal('production')], {
    default: 'development',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  LAYERS_RATE_LIMIT_SECRET_PER_S: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100 }),
  LAYERS_RATE_LIMIT_PUBLISHABLE_PER_S: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
  // What all of an org's keys of one type may send together (minting keys does not raise it).
  LAYERS_RATE_LIMIT_ORG_SECRET_PER_S: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 300 }),
  LAYERS_RATE_LIMIT_ORG_PUBLISHABLE_PER_S: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5000 }),
  LAYERS_JOB_WATCHDOG_MS: Type.Integer({ minimum: 500, maximum: 3_600_000, default: 60_000 }),
  // Access exports, per process: each holds a connection and a snapshot while its client reads.
  LAYERS_EXPORTS_MAX: Type.Integer({ minimum: 1, maximum: 1_000, default: 4 }),
  LAYERS_EXPORTS_MAX_PER_ORG: Type.Integer({ minimum: 1, maximum: 1_000, default: 2 }),
  LAYERS_EXPORT_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
  LAYERS_EXPORT_MAX_DURATION_MS: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 900_000 }),
  // Below the grace period of Kubernetes (30 s) and systemd (90 s) before they send SIGKILL.
  LAYERS_SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 20_000 }),
  // Development and tests only: `host=url` pairs sending a vendor host to a local fake (API.md).
  LAYERS_EGRESS_REDIRECT: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
  // Social platforms (API.md "Social accounts"): app credentials, and the externally reachable base URL.
  TIKTOK_CLIENT_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  TIKTOK_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  META_APP_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  META_APP_SECRET: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  GOOGLE_CLIENT_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  GOOGLE_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  LAYERS_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$' })),
  LAYERS_ROLE: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], {
    default: 'all',
  }),
  // Content generation and media (API.md "Content generation and media").
  LAYERS_MEDIA_STORE: Type.Union([Type.Literal('fs'), Type.Literal('s3')], { default: 'fs' }),
  LAYERS_S3_BUCKET: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' })),
  LAYERS_S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https://[^/?#\\s]+$' })),
  LAYERS_S3_REGION: Type.String({ default: 'us-east-1', pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]$' }),
  AWS_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  AWS_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  OPENAI_API_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  ANTHROPIC_API_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  GOOGLE_VERTEX_PROJECT: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{4,61}[a-z0-9]$' })),
  GOOGLE_VERTEX_LOCATION: Type.String({ default: 'us-central1', pattern: '^[a-z0-9-]{2,40}$' }),
  GOOGLE_APPLICATION_CREDENTIALS: Type.Optional(Type.String({ minLength: 1 })),
  LAYERS_OPENAI_MODEL: Type.String({ default: 'gpt-4.1-mini', pattern: '^[A-Za-z0-9._:-]{1,100}$' }),
  LAYERS_ANTHROPIC_MODEL: Type.String({ default: 'claude-haiku-4-5', pattern: '^[A-Za-z0-9._:-]{1,100}$' }),
  LAYERS_VERTEX_MODEL: Type.String({ default: 'gemini-2.5-flash', pattern: '^[A-Za-z0-9._:-]{1,100}$' }),
  // Vendors with which the operator has a zero-data-retention agreement (openai, anthropic, vertex).
  LAYERS_LLM_ZDR_VENDORS: Type.String({
    default: '',
    pattern: '^((openai|anthropic|vertex)(,(openai|anthropic|vertex))*)?$',
  }),
  LAYERS_LLM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 60_000 }),
  LAYERS_GENERATION_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
  LAYERS_VIDEO_DURATION_MS: Type.Integer({ minimum: 6_000, maximum: 15_000, default: 8_000 }),
});

export type Config = Readonly<{
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databaseAppUrl: string | undefined;
  adminToken: string | undefined;
  encryptionKey: string | undefined;
  region: string;
  geoipDb: string | undefined;
  /** Declared regions of the stores (undefined: on this deployment's own machine); see privacy/residency.ts. */
  storeRegions: Readonly<{
    database: string | undefined;
    media: string | undefined;
    geoip: string | undefined;
  }>;
  mediaDir: string;
  /** The sub-processor list (JSON); the repository's config/subprocessors.json unless overridden. */
  subprocessorsFile: string;
  contacts: Readonly<{ legal: string; security: string }>;
  trustProxy: string[];
  allowPrivateWebhooks: boolean;
  env: 'development' | 'production';
  logLevel: string;
  rateLimits: Readonly<{
    secretPerSecond: number;
    publishablePerSecond: number;
    orgSecretPerSecond: number;
    orgPublishablePerSecond: number;
  }>;
  role: 'all' | 'api' | 'worker';
  /** How long a long-running job may go without a heartbeat before another worker resumes it. */
  jobWatchdogMs: number;
  /** Caps and time limits of access exports (modules/subjects/export-limiter.ts). */
  exportLimits: Readonly<{
    maxConcurrent: number;
    maxPerOrg: number;
    idleTimeoutMs: number;
    maxDurationMs: number;
  }>;
  /** How long SIGTERM/SIGINT may spend draining before the process exits non-zero, abandoning the rest. */
  shutdownTimeoutMs: number;
  /** Vendor host → base URL of a local fake (LAYERS_EGRESS_REDIRECT); always empty in production. */
  egressRedirects: ReadonlyMap<string, string>;
  /** Where media objects live (modules/media). */
  mediaStore: Readonly<{
    kind: 'fs' | 's3';
    s3: Readonly<{
      bucket: string | undefined;
      endpoint: string;
      region: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
    }>;
  }>;
  /** Content generation: vendor credentials and models (undefined key: that provider is not configured). */
  generation: Readonly<{
    openai: Readonly<{ apiKey: string; model: string }> | undefined;
    anthropic: Readonly<{ apiKey: string; model: string }> | undefined;
    vertex:
      | Readonly<{ project: string; location: string; credentialsFile: string | undefined; model: string }>
      | undefined;
    zdrVendors: readonly string[];
    llmTimeoutMs: number;
    maxAttempts: number;
    videoDurationMs: number;
  }>;
  /** App credentials per social platform (undefined: that platform is not configured). */
  social: Readonly<{
    tiktok: Readonly<{ clientKey: string; clientSecret: string }> | undefined;
    meta: Readonly<{ appId: string; appSecret: string }> | undefined;
    google: Readonly<{ clientId: string; clientSecret: string }> | undefined;
  }>;
  /** The externally reachable base URL, without a trailing slash (OAuth redirects, callbacks). */
  publicUrl: string;
}>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(Env.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(Env, raw);
  const converted = Value.Convert(Env, withDefaults);
  if (!Value.Check(Env, converted)) {
    const problems = [...Value.Errors(Env, converted)].map((e) => `${e.instancePath.slice(1)}: ${e.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  if (converted.LAYERS_ENV === 'production' && converted.LAYERS_ALLOW_PRIVATE_WEBHOOKS) {
    // It would let any partner point a webhook at this deployment's own network.
    throw new ConfigError(
      'LAYERS_ALLOW_PRIVATE_WEBHOOKS=true is for development and tests only and is refused when ' +
        'LAYERS_ENV=production: unset it (webhook URLs must then reach public addresses over https).',
    );
  }
  if (converted.LAYERS_ENV === 'production' && converted.LAYERS_EGRESS_REDIRECT) {
    // It would send vendor traffic (tokens, media, events) wherever the variable says.
    throw new ConfigError(
      'LAYERS_EGRESS_REDIRECT is for development and tests only and is refused when LAYERS_ENV=production: unset it.',
    );
  }
  if (
    converted.LAYERS_ENV === 'production' &&
    (converted.TIKTOK_CLIENT_KEY || converted.META_APP_ID || converted.GOOGLE_CLIENT_ID) &&
    !converted.LAYERS_PUBLIC_URL?.startsWith('https://')
  ) {
    // The platforms send the browser (with the OAuth code) back to LAYERS_PUBLIC_URL.
    throw new ConfigError(
      "LAYERS_PUBLIC_URL must be set to this deployment's https base URL when a social platform is configured in production (OAuth redirect URIs are built from it).",
    );
  }
  return fromEnv(converted);
}

const REDIRECT_HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

/**
 * `graph.facebook.com=http://127.0.0.1:9001,open.tiktokapis.com=http://127.0.0.1:9002`: the egress
 * gateway sends calls for each host to the URL instead (its path is a prefix). The code and the
 * ledger keep naming the real host; the allowlist is checked on the real host first.
 */
export function parseEgressRedirects(raw: string | undefined): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const pair of (raw ?? '').split(',')) {
    const item = pair.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const host = item.slice(0, Math.max(eq, 0)).trim().toLowerCase();
    let url: URL | undefined;
    try {
      url = eq > 0 ? new URL(item.slice(eq + 1).trim()) : undefined;
    } catch {
      url = undefined;
    }
    if (!REDIRECT_HOST.test(host) || !url || !['http:', 'https:'].includes(url.protocol) || url.search)
      throw new ConfigError(
        `invalid configuration: LAYERS_EGRESS_REDIRECT takes comma-separated host=url pairs (an http(s) URL without a query); '${item.slice(0, 100)}' is not one`,
      );
    map.set(host, url.href.replace(/\/$/, ''));
  }
  return map;
}

function fromEnv(e: Static<typeof Env>): Config {
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.LAYERS_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databaseAppUrl: e.DATABASE_APP_URL,
    adminToken: e.LAYERS_ADMIN_TOKEN,
    encryptionKey: e.LAYERS_ENCRYPTION_KEY,
    region: e.LAYERS_REGION,
    geoipDb: e.GEOIP_DB,
    storeRegions: Object.freeze({
      database: e.LAYERS_DATABASE_REGION,
      media: e.LAYERS_MEDIA_REGION,
      geoip: e.LAYERS_GEOIP_REGION,
    }),
    mediaDir: path.resolve(e.LAYERS_MEDIA_DIR ?? path.join(e.LAYERS_DATA_DIR, 'media')),
    subprocessorsFile: path.resolve(
      e.LAYERS_SUBPROCESSORS_FILE ?? path.join(import.meta.dirname, '..', 'config', 'subprocessors.json'),
    ),
    contacts: Object.freeze({ legal: e.LAYERS_LEGAL_EMAIL, security: e.LAYERS_SECURITY_EMAIL }),
    trustProxy: e.TRUST_PROXY.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    allowPrivateWebhooks: e.LAYERS_ALLOW_PRIVATE_WEBHOOKS,
    env: e.LAYERS_ENV,
    logLevel: e.LOG_LEVEL,
    rateLimits: Object.freeze({
      secretPerSecond: e.LAYERS_RATE_LIMIT_SECRET_PER_S,
      publishablePerSecond: e.LAYERS_RATE_LIMIT_PUBLISHABLE_PER_S,
      orgSecretPerSecond: e.LAYERS_RATE_LIMIT_ORG_SECRET_PER_S,
      orgPublishablePerSecond: e.LAYERS_RATE_LIMIT_ORG_PUBLISHABLE_PER_S,
    }),
    role: e.LAYERS_ROLE,
    egressRedirects: parseEgressRedirects(e.LAYERS_EGRESS_REDIRECT),
    jobWatchdogMs: e.LAYERS_JOB_WATCHDOG_MS,
    exportLimits: Object.freeze({
      maxConcurrent: e.LAYERS_EXPORTS_MAX,
      maxPerOrg: e.LAYERS_EXPORTS_MAX_PER_ORG,
      idleTimeoutMs: e.LAYERS_EXPORT_IDLE_TIMEOUT_MS,
      maxDurationMs: e.LAYERS_EXPORT_MAX_DURATION_MS,
    }),
    shutdownTimeoutMs: e.LAYERS_SHUTDOWN_TIMEOUT_MS,
    mediaStore: Object.freeze({
      kind: e.LAYERS_MEDIA_STORE,
      s3: Object.freeze({
        bucket: e.LAYERS_S3_BUCKET,
        endpoint: e.LAYERS_S3_ENDPOINT ?? `https://s3.${e.LAYERS_S3_REGION}.amazonaws.com`,
        region: e.LAYERS_S3_REGION,
        accessKeyId: e.AWS_ACCESS_KEY_ID,
        secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
      }),
    }),
    generation: Object.freeze({
      openai: e.OPENAI_API_KEY
        ? Object.freeze({ apiKey: e.OPENAI_API_KEY, model: e.LAYERS_OPENAI_MODEL })
        : undefined,
      anthropic: e.ANTHROPIC_API_KEY
        ? Object.freeze({ apiKey: e.ANTHROPIC_API_KEY, model: e.LAYERS_ANTHROPIC_MODEL })
        : undefined,
      vertex: e.GOOGLE_VERTEX_PROJECT
        ? Object.freeze({
            project: e.GOOGLE_VERTEX_PROJECT,
            location: e.GOOGLE_VERTEX_LOCATION,
            credentialsFile: e.GOOGLE_APPLICATION_CREDENTIALS,
            model: e.LAYERS_VERTEX_MODEL,
          })
        : undefined,
      zdrVendors: Object.freeze(e.LAYERS_LLM_ZDR_VENDORS.split(',').filter(Boolean)),
      llmTimeoutMs: e.LAYERS_LLM_TIMEOUT_MS,
      maxAttempts: e.LAYERS_GENERATION_MAX_ATTEMPTS,
      videoDurationMs: e.LAYERS_VIDEO_DURATION_MS,
    }),
    social: Object.freeze({
      tiktok:
        e.TIKTOK_CLIENT_KEY && e.TIKTOK_CLIENT_SECRET
          ? Object.freeze({ clientKey: e.TIKTOK_CLIENT_KEY, clientSecret: e.TIKTOK_CLIENT_SECRET })
          : undefined,
      meta:
        e.META_APP_ID && e.META_APP_SECRET
          ? Object.freeze({ appId: e.META_APP_ID, appSecret: e.META_APP_SECRET })
          : undefined,
      google:
        e.GOOGLE_CLIENT_ID && e.GOOGLE_CLIENT_SECRET
          ? Object.freeze({ clientId: e.GOOGLE_CLIENT_ID, clientSecret: e.GOOGLE_CLIENT_SECRET })
          : undefined,
    }),
    publicUrl: (e.LAYERS_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
  });
}
