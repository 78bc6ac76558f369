// Every lookup here reads the local mmdb files only: no test in this file opens a network connection.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { iso31662 } from 'iso-3166';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGeoResolver, defaultDbipPaths, type GeoResolver, loadGeoResolver } from './geo-resolver.ts';
import { canonicalIp } from './ip-address.ts';

const ISO_CODES = new Set(iso31662.map((e) => e.code));

describe('DB-IP Lite lookups (default databases, local files only)', () => {
  let geo: GeoResolver;
  beforeAll(() => {
    geo = createGeoResolver();
  });
  afterAll(() => geo.close());

  // Large, long-stable allocations; if a monthly DB-IP update moves one, check it with
  // `node -e` against the new file before changing the expectation.
  it.each([
    ['81.2.69.160', 'GB', 'GB-ENG'], // the classic MaxMind test address, London
    ['8.8.8.8', 'US', 'US-CA'],
    ['17.0.0.1', 'US', 'US-CA'],
    ['134.130.0.1', 'DE', 'DE-NW'], // RWTH Aachen
    ['193.51.100.1', 'FR', 'FR-IDF'],
    ['133.11.0.1', 'JP', 'JP-13'], // University of Tokyo
    ['1.1.1.1', 'AU', 'AU-NSW'],
    ['2a00:1450:4001::1', 'DE', 'DE-HE'], // Google Frankfurt, IPv6 file
    ['2001:41d0::1', 'FR', 'FR-HDF'], // OVH Roubaix, IPv6 file
    ['::ffff:81.2.69.160', 'GB', 'GB-ENG'], // IPv4-mapped IPv6 goes to the IPv4 file
    ['::ffff:5102:45a0', 'GB', 'GB-ENG'],
    [' 81.2.69.160 ', 'GB', 'GB-ENG'],
  ])('%s → %s %s', (ip, country, region) => {
    expect(geo.lookup(ip)).toEqual({ country, region });
  });

  it('answers null for private, loopback, link-local and reserved addresses', () => {
    for (const ip of [
      '10.0.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.1.1',
      '100.64.0.1',
      '::1',
      'fe80::1',
      'fc00::1',
    ]) {
      expect(geo.lookup(ip)).toBeNull();
    }
  });

  it('answers null for garbage and never throws', () => {
    for (const ip of [
      '',
      'garbage',
      '999.1.1.1',
      '81.2.69.160:443',
      'x'.repeat(10_000),
      '::ffff:999.1.1.1',
    ]) {
      expect(geo.lookup(ip)).toBeNull();
    }
    expect(geo.lookup(undefined as unknown as string)).toBeNull();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(() => geo.lookup(s)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('answers a country for any public IPv4 or IPv6 address and a valid region code when it has one', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const r = geo.lookup(ip);
        if (r === null) return;
        expect(r.country).toMatch(/^[A-Z]{2}$/);
        if (r.region !== null) {
          expect(ISO_CODES.has(r.region)).toBe(true);
          expect(r.region.startsWith(`${r.country}-`)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reports what it loaded', () => {
    expect(geo.info.source).toBe('dbip-lite');
    expect(geo.info.paths).toEqual([defaultDbipPaths().v4, defaultDbipPaths().v6]);
    expect(geo.info.buildDate).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(geo.info.databaseTypes).toEqual(['city ipv4', 'city ipv6']);
  });
});

describe('loading', () => {
  it('loadGeoResolver shares one instance per database per process; close() releases it', async () => {
    const [a, b] = await Promise.all([loadGeoResolver(), loadGeoResolver()]);
    expect(a).toBe(b);
    expect(a.lookup('81.2.69.160')).toEqual({ country: 'GB', region: 'GB-ENG' });
    a.close();
    expect(a.lookup('81.2.69.160')).toBeNull();
    const c = await loadGeoResolver();
    expect(c).not.toBe(a);
    expect(c.lookup('81.2.69.160')).toEqual({ country: 'GB', region: 'GB-ENG' });
    c.close();
  });

  it('rejects a missing database file (and does not remember the failure)', async () => {
    const dbPath = join(tmpdir(), 'no-such-dir-layers', 'GeoLite2-City.mmdb');
    await expect(loadGeoResolver({ dbPath })).rejects.toThrow(/ENOENT/);
    await expect(loadGeoResolver({ dbPath })).rejects.toThrow(/ENOENT/);
    expect(() => createGeoResolver({ dbPath })).toThrow(/ENOENT/);
  });

  it('refuses a gzip-compressed GEOIP_DB with a message that says what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layers-geoip-gz-'));
    try {
      const dbPath = join(dir, 'GeoLite2-City.mmdb.gz');
      writeFileSync(dbPath, gzipSync(Buffer.from('not really a database')));
      expect(() => createGeoResolver({ dbPath })).toThrow(/gzip-compressed: extract the \.mmdb file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a single IPv4-only file given as dbPath answers IPv4 and returns null for IPv6', () => {
    const geo = createGeoResolver({ dbPath: defaultDbipPaths().v4 });
    expect(geo.info.source).toBe('custom');
    expect(geo.lookup('81.2.69.160')).toEqual({ country: 'GB', region: 'GB-ENG' });
    expect(geo.lookup('2a00:1450:4001::1')).toBeNull();
    geo.close();
  });
});

// ---------------------------------------------------------------------------------------------
// A GeoIP2-City-format database, written here byte by byte (MaxMind DB format 2.0), so that the
// GEOIP_DB path is tested without shipping or downloading a commercial file.

function ctrl(type: number, size: number): Buffer {
  const head: number[] = [];
  let sizeBits = size;
  const extra: number[] = [];
  if (size >= 29 && size < 285) {
    sizeBits = 29;
    extra.push(size - 29);
  } else if (size >= 285) {
    sizeBits = 30;
    extra.push((size - 285) >> 8, (size - 285) & 255);
  }
  if (type <= 7) head.push((type << 5) | sizeBits);
  else head.push(sizeBits, type - 7);
  return Buffer.from([...head, ...extra]);
}

function encode(value: unknown): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([ctrl(2, bytes.length), bytes]);
  }
  if (typeof value === 'number') {
    const bytes: number[] = [];
    for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    return Buffer.concat([ctrl(6, bytes.length), Buffer.from(bytes)]); // uint32
  }
  if (Array.isArray(value)) return Buffer.concat([ctrl(11, value.length), ...value.map(encode)]);
  const entries = Object.entries(value as Record<string, unknown>);
  return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, v]) => [encode(k), encode(v)])]);
}

function ipBits(ip: string, prefix: number): number[] {
  const c = canonicalIp(ip)!;
  let bytes: number[];
  if (c.family === 4) bytes = [...Array(12).fill(0), ...c.address.split('.').map(Number)];
  else {
    const [head = '', tail = ''] = c.address.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    bytes = groups.flatMap((g) => [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 255]);
  }
  const bits = bytes.flatMap((b) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (b >> i) & 1));
  return bits.slice(0, c.family === 4 ? 96 + prefix : prefix);
}

function writeGeoIp2City(path: string, networks: Array<[string, number, Record<string, unknown>]>): void {
  type Slot = number | { data: number } | null;
  const nodes: Array<[Slot, Slot]> = [[null, null]];
  const data: Buffer[] = [];
  let dataSize = 0;
  for (const [ip, prefix, record] of networks) {
    const offset = dataSize;
    const bytes = encode(record);
    data.push(bytes);
    dataSize += bytes.length;
    const bits = ipBits(ip, prefix);
    let node = 0;
    bits.forEach((bit, i) => {
      const slots = nodes[node]!;
      if (i === bits.length - 1) {
        slots[bit as 0 | 1] = { data: offset };
        return;
      }
      let next = slots[bit as 0 | 1];
      if (typeof next !== 'number') {
        nodes.push([null, null]);
        next = nodes.length - 1;
        slots[bit as 0 | 1] = next;
      }
      node = next;
    });
  }
  const nodeCount = nodes.length;
  const tree = Buffer.alloc(nodeCount * 6);
  const recordValue = (s: Slot) =>
    s === null ? nodeCount : typeof s === 'number' ? s : nodeCount + 16 + s.data;
  nodes.forEach(([l, r], i) => {
    tree.writeUIntBE(recordValue(l), i * 6, 3);
    tree.writeUIntBE(recordValue(r), i * 6 + 3, 3);
  });
  const metadata = encode({
    node_count: nodeCount,
    record_size: 24,
    ip_version: 6,
    database_type: 'GeoIP2-City',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_790_000_000,
    description: { en: 'layers test database' },
  });
  const marker = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
  writeFileSync(path, Buffer.concat([tree, Buffer.alloc(16), ...data, marker, metadata]));
}

describe('GEOIP_DB: a MaxMind GeoIP2-City-format file', () => {
  let dir: string;
  let geo: GeoResolver;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'layers-geoip-'));
    const dbPath = join(dir, 'GeoIP2-City-Test.mmdb');
    writeGeoIp2City(dbPath, [
      [
        '81.2.69.0',
        24,
        {
          country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
          subdivisions: [{ iso_code: 'ENG', names: { en: 'England' } }, { iso_code: 'WBK' }],
        },
      ],
      ['89.160.20.0', 24, { country: { iso_code: 'DE' }, subdivisions: [{ names: { en: 'Bavaria' } }] }],
      ['67.43.156.0', 24, { country: { iso_code: 'US' } }],
      ['1.1.1.0', 24, { registered_country: { iso_code: 'AU' } }],
      ['2a02:cf40::', 32, { country: { iso_code: 'JP' }, subdivisions: [{ iso_code: '13' }] }],
    ]);
    geo = createGeoResolver({ dbPath });
  });
  afterAll(() => {
    geo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses subdivisions[0].iso_code, or maps the English name when the code is missing', () => {
    expect(geo.info.source).toBe('custom');
    expect(geo.info.databaseTypes).toEqual(['GeoIP2-City']);
    expect(geo.lookup('81.2.69.160')).toEqual({ country: 'GB', region: 'GB-ENG' });
    expect(geo.lookup('::ffff:81.2.69.160')).toEqual({ country: 'GB', region: 'GB-ENG' });
    expect(geo.lookup('89.160.20.112')).toEqual({ country: 'DE', region: 'DE-BY' });
    expect(geo.lookup('2a02:cf40:1::1')).toEqual({ country: 'JP', region: 'JP-13' });
  });

  it('gives a country without region, or nothing, when that is all the file knows', () => {
    expect(geo.lookup('67.43.156.1')).toEqual({ country: 'US', region: null });
    expect(geo.lookup('1.1.1.1')).toBeNull();
    expect(geo.lookup('81.2.70.1')).toBeNull();
    expect(geo.lookup('10.0.0.1')).toBeNull();
  });
});
