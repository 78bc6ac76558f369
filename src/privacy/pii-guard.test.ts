import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { guardPii, guardText, type JsonObject, type PiiGuardResult } from './pii-guard.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const PERSON = sha('person@example.com');
const PHONE = sha('16505551212');

function ok(result: PiiGuardResult) {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result;
}

function hash(input: Record<string, unknown>, rootPath = 'traits') {
  return ok(guardPii(input, { mode: 'hash', rootPath }));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('email and phone keys', () => {
  it('hash string values and rename the key <key>_sha256', () => {
    const r = hash({
      email: ' Person@Example.com ',
      Email: 'PERSON@example.com',
      user_email: 'person@example.com',
      emailAddress: 'person@example.com',
      'e-mail': 'person@example.com',
      phone: '+1 (650) 555-1212',
      phone_number: '16505551212',
      mobile: '1-650-555-1212',
      tel: '+16505551212',
      telephone: '(1) 650 555 1212',
      msisdn: '16505551212',
      cell: 16505551212,
    });
    expect(r.value).toEqual({
      email_sha256: PERSON,
      Email_sha256: PERSON,
      user_email_sha256: PERSON,
      emailAddress_sha256: PERSON,
      'e-mail_sha256': PERSON,
      phone_sha256: PHONE,
      phone_number_sha256: PHONE,
      mobile_sha256: PHONE,
      tel_sha256: PHONE,
      telephone_sha256: PHONE,
      msisdn_sha256: PHONE,
      cell_sha256: PHONE,
    });
    expect(r.report.hashed).toBe(12);
    expect(r.report.dropped).toBe(0);
    expect(r.report.paths).toContain('traits.e-mail');
    expect(r.report.paths).toContain('traits.cell');
  });

  it('keeps a pre-hashed value lower-cased under <key>_sha256, never hashing twice, and does not count it', () => {
    const r = hash({
      email: PERSON.toUpperCase(),
      phone_sha256: ` ${PHONE.toUpperCase()} `,
      email_sha256: PERSON,
    });
    expect(r.value).toEqual({ email_sha256: PERSON, phone_sha256: PHONE });
    expect(r.report).toEqual({ hashed: 0, dropped: 0, paths: [], unsafeKeys: 0 });
  });

  it('hashes a raw value sent in a *_sha256 field instead of storing it', () => {
    const r = hash({ email_sha256: 'Person@Example.com' });
    expect(r.value).toEqual({ email_sha256: PERSON });
    expect(r.report.hashed).toBe(1);
  });

  it('leaves values that cannot be identifiers alone', () => {
    const r = hash({ email: '', mobile: 'yes', cell: 'A1', phone: true, email_verified: 'true', tel: 12 });
    expect(r.value).toEqual({
      email: '',
      mobile: 'yes',
      cell: 'A1',
      phone: true,
      email_verified: 'true',
      tel: 12,
    });
    expect(r.report.hashed).toBe(0);
  });

  it('keeps both values when a renamed key collides with an existing one', () => {
    const other = sha('other@example.com');
    const r = hash({ email: 'person@example.com', email_sha256: other });
    expect(r.value).toEqual({ email_sha256: PERSON, email_sha256_2: other });
    // and the suffixed name is recognised as a hash field on the next pass
    expect(hash(r.value).value).toEqual(r.value);
    // Two spellings of the same person collapse into one entry.
    expect(hash({ email: 'person@example.com', email_sha256: PERSON }).value).toEqual({
      email_sha256: PERSON,
    });
  });
});

describe('values recognised by shape, under any key', () => {
  it('hashes email addresses (also padded) and international phone numbers, renaming the key', () => {
    const r = hash({
      contact: '  Person@Example.com ',
      owner_sha256: 'person@example.com',
      whatsapp: '+1 650.555.1212',
      fax: '+44 (20) 7946-0958',
    });
    expect(r.value).toEqual({
      contact_sha256: PERSON,
      owner_sha256: PERSON,
      whatsapp_sha256: PHONE,
      fax_sha256: sha('442079460958'),
    });
  });

  it('does not take short numbers, digit runs, amounts, dates or versions for phones', () => {
    const value = {
      price: '+12.50',
      delta: '+1234567',
      short: '555-1212',
      sku: 'A-1234-5678',
      n: 16505551212,
      id: '16505551212',
      amount: '1 234 567 890',
      zip: '12345-6789',
      day: '2026-11-27',
      pi: '3.14159265358',
      os_version: '10.0.19045.3803',
      chrome: '120.0.6099.129',
      at: '2026-11-27T10:00:00.000Z',
    };
    expect(hash(value).value).toEqual(value);
  });

  it('replaces email addresses embedded in text by their hashes, keeping the key', () => {
    const r = hash({ note: 'Write to Person@Example.com or to other@example.co.uk, thanks.' });
    expect(r.value).toEqual({
      note: `Write to ${PERSON} or to ${sha('other@example.co.uk')}, thanks.`,
    });
    expect(r.report.hashed).toBe(2);
    expect(r.report.paths).toEqual(['traits.note']);
  });

  it('drops IPv4, IPv6 and zone-scoped addresses anywhere', () => {
    const r = hash({
      last_seen_from: '81.2.69.160',
      v6: ' 2001:db8::1 ',
      scoped: 'fe80::1%eth0',
      mapped: '::ffff:81.2.69.160',
      kept: 'not-an-ip',
      hops: ['10.0.0.1', 'edge', '2001:4860:4860::8888'],
    });
    expect(r.value).toEqual({ kept: 'not-an-ip', hops: ['edge'] });
    expect(r.report.dropped).toBe(6);
    expect(r.report.paths).toEqual([
      'traits.last_seen_from',
      'traits.v6',
      'traits.scoped',
      'traits.mapped',
      'traits.hops[0]',
      'traits.hops[2]',
    ]);
  });
});

describe('shapes the guard once missed (issue 13, item 10)', () => {
  const LONDON = sha('02079460958');
  const US_NATIONAL = sha('6505551212');

  it('hashes phone numbers in national format under any key', () => {
    const r = hash({
      contact: '020 7946 0958',
      office: '(650) 555-1212',
      paris: '01 23 45 67 89',
      dotted: '650.555.1212',
      uk_paren: '(0)20 7946 0958',
    });
    expect(r.value).toEqual({
      contact_sha256: LONDON,
      office_sha256: US_NATIONAL,
      paris_sha256: sha('0123456789'),
      dotted_sha256: US_NATIONAL,
      uk_paren_sha256: LONDON,
    });
    expect(r.report.hashed).toBe(5);
  });

  it('hashes phone numbers in arrays and objects under phone-like and plural keys', () => {
    const r = hash({
      phones: ['650 555 1212', 16505551212, '+44 20 7946 0958'],
      phone_numbers: [{ home: '555 1212 99', kind: 'mobile' }],
      phone: { work: '(650) 555-1212', ext: 42, email: 'person@example.com' },
      mobiles: '6505551212',
      emails: ['Person@Example.com'],
      email_addresses: { work: 'PERSON@example.com' },
    });
    expect(r.value).toEqual({
      phones: [US_NATIONAL, PHONE, sha('442079460958')],
      phone_numbers: [{ home_sha256: sha('555121299'), kind: 'mobile' }],
      phone: { work_sha256: US_NATIONAL, ext: 42, email_sha256: PERSON },
      mobiles_sha256: US_NATIONAL,
      emails: [PERSON],
      email_addresses: { work_sha256: PERSON },
    });
    expect(r.report.paths).toEqual([
      'traits.phones[0]',
      'traits.phones[1]',
      'traits.phones[2]',
      'traits.phone_numbers[0].home',
      'traits.phone.work',
      'traits.phone.email',
      'traits.mobiles',
      'traits.emails[0]',
      'traits.email_addresses.work',
    ]);
  });

  it('drops plural IP and device-id keys whatever the value', () => {
    const r = hash({ ips: ['x'], ip_addresses: 'y', device_ids: [1], idfas: 'z', tips: 'keep' });
    expect(r.value).toEqual({ tips: 'keep' });
    expect(r.report.dropped).toBe(4);
  });

  it('drops ip:port, bracketed IPv6 and X-Forwarded-For lists, and replaces IPs inside text', () => {
    const r = hash({
      upstream: '81.2.69.160:443',
      v6_port: '[2001:db8::1]:8443',
      v6: '[2001:4860:4860::8888]',
      xff: '81.2.69.160, 10.0.0.1,  2001:db8::7',
      forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43',
      error: 'connect ECONNREFUSED 10.0.0.5:5432 (via [fe80::1]:80)',
      url: 'http://10.1.2.3:8080/health',
      list: ['edge', '10.0.0.1:80', '[::1]'],
      time: '10:30:45',
      plan: 'pro',
    });
    expect(r.value).toEqual({
      forwarded: 'for=[ip-redacted];proto=http;by=[ip-redacted]',
      error: 'connect ECONNREFUSED [ip-redacted] (via [ip-redacted])',
      url: 'http://[ip-redacted]/health',
      list: ['edge'],
      time: '10:30:45',
      plan: 'pro',
    });
    expect(r.report.dropped).toBe(11);
  });

  it('hashes URL-encoded email addresses, whole, under email keys and inside URLs', () => {
    const r = hash({
      contact: 'person%40example.com',
      email: 'Person%40Example.com',
      tagged: 'first.last%2Btag%40sub.example.co.uk',
      landing: 'https://shop.example/?ref=ad&email=person%40example.com&x=1',
      plain_url: 'https://shop.example/?email=person@example.com',
    });
    expect(r.value).toEqual({
      contact_sha256: PERSON,
      email_sha256: PERSON,
      tagged_sha256: sha('first.last+tag@sub.example.co.uk'),
      landing: `https://shop.example/?ref=ad&email=${PERSON}&x=1`,
      plain_url: `https://shop.example/?email=${PERSON}`,
    });
  });

  it('hashes international phone numbers inside text', () => {
    const r = hash({ note: 'call +44 20 7946 0958 after six' });
    expect(r.value).toEqual({ note: `call ${sha('442079460958')} after six` });
  });

  it('refuses each of these shapes in reject mode, naming the path only', () => {
    for (const [input, path] of [
      [{ contact: '020 7946 0958' }, 'traits.contact'],
      [{ phones: ['650 555 1212'] }, 'traits.phones[0]'],
      [{ phone: { work: '6505551212' } }, 'traits.phone.work'],
      [{ contact: 'person%40example.com' }, 'traits.contact'],
      [{ note: 'call +1 650 555 1212' }, 'traits.note'],
    ] as const) {
      const r = guardPii(input, { mode: 'reject', rootPath: 'traits' });
      expect(r).toMatchObject({ ok: false, code: 'pii_rejected', path });
      if (!r.ok) expect(r.message).not.toMatch(/person|650|555|7946/);
    }
  });
});

describe('guardText (the event envelope)', () => {
  it('hashes a whole email or phone, says which, drops an IP, hashes embedded addresses', () => {
    expect(guardText(' Person@Example.com', { mode: 'hash', path: 'user_id' })).toMatchObject({
      ok: true,
      value: PERSON,
      hashedAs: 'email',
    });
    expect(guardText('person%40example.com', { mode: 'hash', path: 'user_id' })).toMatchObject({
      value: PERSON,
      hashedAs: 'email',
    });
    expect(guardText('+1 650 555 1212', { mode: 'hash', path: 'user_id' })).toMatchObject({
      value: PHONE,
      hashedAs: 'phone',
    });
    expect(guardText('10.0.0.1:80', { mode: 'hash', path: 'user_id' })).toMatchObject({
      ok: true,
      value: undefined,
    });
    expect(guardText('auth0|person@example.com', { mode: 'hash', path: 'user_id' })).toMatchObject({
      value: `auth0|${PERSON}`,
      hashedAs: undefined,
    });
    const plain = guardText('u_123', { mode: 'hash', path: 'user_id' });
    expect(plain).toMatchObject({ ok: true, value: 'u_123', hashedAs: undefined });
    if (plain.ok) expect(plain.report).toEqual({ hashed: 0, dropped: 0, paths: [], unsafeKeys: 0 });
    expect(guardText('person@example.com', { mode: 'reject', path: 'user_id' })).toMatchObject({
      ok: false,
      code: 'pii_rejected',
      path: 'user_id',
    });
  });
});

describe('IP and device-id keys', () => {
  it('drop the entry whatever the value', () => {
    const r = hash({
      ip: '81.2.69.160',
      ip_address: 'unknown',
      ipAddress: { v4: '1.2.3.4' },
      idfa: '6D92078A-8246-4BA4-AE5B-76104861E7DC',
      gaid: '38400000-8cf0-11bd-b23e-10b96e40000d',
      adid: 'x',
      advertising_id: 'x',
      advertisingId: 'x',
      android_id: 'x',
      idfv: 'x',
      device_id: 'x',
      deviceId: 42,
      plan: 'pro',
    });
    expect(r.value).toEqual({ plan: 'pro' });
    expect(r.report.dropped).toBe(12);
  });
});

describe('keys that are personal data', () => {
  it('are hashed (email, phone) or dropped (IP), and reported as [redacted]', () => {
    const r = hash({
      'Person@Example.com': 'vip',
      '+1 650 555 1212': true,
      '81.2.69.160': 'seen',
      plan: 'pro',
    });
    expect(r.value).toEqual({ [PERSON]: 'vip', [PHONE]: true, plan: 'pro' });
    expect(r.report.paths).toEqual(['traits[redacted]', 'traits[redacted]', 'traits[redacted]']);
  });
});

describe('nesting', () => {
  it('applies every rule inside nested objects and arrays, with JSON paths', () => {
    const r = hash(
      {
        contact: { email: 'person@example.com', phones: ['+1 650 555 1212', { mobile: '16505551212' }] },
        devices: [{ idfa: 'x', model: 'iPhone' }],
        matrix: [[['person@example.com']]],
        'odd key': { ip: '1.2.3.4' },
      },
      'properties',
    );
    expect(r.value).toEqual({
      contact: { email_sha256: PERSON, phones: [PHONE, { mobile_sha256: PHONE }] },
      devices: [{ model: 'iPhone' }],
      matrix: [[[PERSON]]],
      'odd key': {},
    });
    expect(r.report.paths).toEqual([
      'properties.contact.email',
      'properties.contact.phones[0]',
      'properties.contact.phones[1].mobile',
      'properties.devices[0].idfa',
      'properties.matrix[0][0][0]',
      'properties["odd key"].ip',
    ]);
  });

  it('refuses input nested deeper than maxDepth instead of recursing without bound', () => {
    let deep: Record<string, unknown> = { leaf: 'person@example.com' };
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const r = guardPii(deep, { mode: 'hash' });
    expect(r).toMatchObject({ ok: false, code: 'too_deep' });

    let ok8: Record<string, unknown> = { email: 'person@example.com' };
    for (let i = 0; i < 7; i++) ok8 = { a: ok8 };
    expect(guardPii(ok8, { mode: 'hash', maxDepth: 8 }).ok).toBe(true);
    expect(guardPii({ a: ok8 }, { mode: 'hash', maxDepth: 8 })).toMatchObject({
      ok: false,
      code: 'too_deep',
    });

    let arrays: unknown = 'x';
    for (let i = 0; i < 50; i++) arrays = [arrays];
    expect(guardPii({ arrays }, { mode: 'hash' })).toMatchObject({ ok: false, code: 'too_deep' });
  });
});

describe('reject mode', () => {
  it.each([
    [{ contact: { email: 'person@example.com' } }, 'traits.contact.email', 'email'],
    [{ list: [1, ' Person@Example.com '] }, 'traits.list[1]', 'email'],
    [{ a: { note: 'mail person@example.com' } }, 'traits.a.note', 'email'],
    [{ phone: '(650) 555-1212' }, 'traits.phone', 'phone'],
    [{ x: '+1 650 555 1212' }, 'traits.x', 'phone'],
    [{ 'person@example.com': 1 }, 'traits[redacted]', 'email'],
  ])('rejects %j naming the path %s but never the value', (input, path, kind) => {
    const r = guardPii(input, { mode: 'reject', rootPath: 'traits' });
    expect(r).toMatchObject({ ok: false, code: 'pii_rejected', path });
    if (r.ok) return;
    expect(r.message).toContain(path);
    expect(r.message).toContain(kind);
    expect(r.message.toLowerCase()).not.toContain('person@example.com');
    expect(r.message).not.toMatch(/650|555|1212/);
  });

  it('keeps a hostile key in the path literal (no replacement patterns) and still no value', () => {
    const r = guardPii({ "$'$`$&": { email: 'person@example.com' } }, { mode: 'reject', rootPath: 'traits' });
    expect(r).toMatchObject({ ok: false, path: `traits["$'$\`$&"].email` });
    if (!r.ok) {
      expect(r.message).toContain(`traits["$'$\`$&"].email`);
      expect(r.message).not.toContain('person@');
    }
  });

  it('accepts pre-hashed values and still drops IPs and device ids', () => {
    const r = ok(
      guardPii(
        { email_sha256: PERSON, phone: PHONE, ip: '1.2.3.4', idfa: 'x', seen_from: '::1', plan: 'pro' },
        { mode: 'reject' },
      ),
    );
    expect(r.value).toEqual({ email_sha256: PERSON, phone_sha256: PHONE, plan: 'pro' });
    expect(r.report.dropped).toBe(3);
  });
});

describe('hostile input', () => {
  it('never mutates its input', () => {
    const input = {
      email: 'person@example.com',
      nested: { ip: '1.2.3.4', list: ['person@example.com', { idfa: 'x' }] },
      plan: 'pro',
    };
    const before = structuredClone(input);
    deepFreeze(input);
    const r = hash(input);
    expect(input).toEqual(before);
    expect(r.value).not.toBe(input);
    expect(r.value.plan).toBe('pro');
  });

  it('cannot pollute prototypes through __proto__, constructor or prototype keys', () => {
    const input = JSON.parse(
      '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}},' +
        ' "nested": {"__proto__": {"isAdmin": true}, "prototype": {"x": 1}, "ok": 1}, "arr": [{"__proto__": {"p": 1}}]}',
    ) as Record<string, unknown>;
    const r = hash(input);
    const out = r.value as Record<string, unknown> & { nested: Record<string, unknown> };
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out.nested)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['nested', 'arr']);
    expect(out.nested.isAdmin).toBeUndefined();
    expect(Object.hasOwn(out, '__proto__')).toBe(false);
    expect(JSON.stringify(out)).toBe('{"nested":{"ok":1},"arr":[{}]}');
    expect(r.report.unsafeKeys).toBe(5);
  });

  it('drops values that are not JSON instead of storing them', () => {
    const r = hash({ when: new Date(0), f: () => 1, u: undefined, n: Number.NaN, big: 1n, ok: 1 });
    expect(r.value).toEqual({ n: null, ok: 1 });
  });
});

describe('canaries', () => {
  const CANARIES = {
    email: 'Canary.Person@Example.org',
    phone: '+1 (650) 555-0199',
    phoneDigits: '16505550199',
    ipv4: '81.2.69.160',
    ipv6: '2001:4860:4860::8888',
    idfa: '6D92078A-8246-4BA4-AE5B-76104861E7DC',
    gaid: '38400000-8cf0-11bd-b23e-10b96e40000d',
  };

  /** The same payload of canaries under ordinary and identifier-named keys, nested `depth` levels. */
  function payload(depth: number): Record<string, unknown> {
    const here: Record<string, unknown> = {
      email: CANARIES.email,
      contact_email: ` ${CANARIES.email.toUpperCase()} `,
      notes: `reach me at ${CANARIES.email}`,
      phone: CANARIES.phone,
      mobile_number: CANARIES.phoneDigits,
      whatsapp: CANARIES.phone,
      ip: CANARIES.ipv4,
      client_ip: CANARIES.ipv6,
      seen_from: CANARIES.ipv4,
      seen_from_v6: CANARIES.ipv6,
      idfa: CANARIES.idfa,
      gaid: CANARIES.gaid,
      advertising_id: CANARIES.gaid,
      device: { idfa: CANARIES.idfa, gaid: CANARIES.gaid, advertisingId: CANARIES.idfa, os: 'ios' },
      list: [CANARIES.email, CANARIES.phone, CANARIES.ipv4, CANARIES.ipv6, { deviceId: CANARIES.idfa }],
      [CANARIES.email]: true,
      [CANARIES.ipv4]: 'x',
      keep: 'ordinary text',
    };
    if (depth > 1) {
      here.child = payload(depth - 1);
      here.children = [payload(depth - 1)];
    }
    return here;
  }

  const input = payload(6);

  function assertNoCanary(text: string) {
    const lower = text.toLowerCase();
    for (const canary of Object.values(CANARIES)) expect(lower).not.toContain(canary.toLowerCase());
    expect(lower).not.toContain('650');
  }

  it('no raw value survives at any depth, in the output or in the report', () => {
    const r = hash(input, 'properties');
    assertNoCanary(JSON.stringify(r.value));
    assertNoCanary(JSON.stringify(r.report));
    expect(JSON.stringify(r.value)).toContain('ordinary text');
    expect(JSON.stringify(r.value)).toContain(sha('canary.person@example.org'));
    expect(r.report.hashed).toBeGreaterThan(0);
    expect(r.report.dropped).toBeGreaterThan(0);
  });

  it('the rejection in reject mode carries no raw value either', () => {
    const r = guardPii(input, { mode: 'reject', rootPath: 'properties' });
    expect(r.ok).toBe(false);
    assertNoCanary(JSON.stringify(r));
  });
});

describe('property: no email-shaped input string reaches the output', () => {
  const arbitraryCase = (email: string) =>
    fc.constantFrom(email, email.toUpperCase(), ` ${email} `, `\t${email}\n`);

  const scenario = fc.uniqueArray(fc.emailAddress(), { minLength: 1, maxLength: 5 }).chain((emails) => {
    const anEmail = fc.constantFrom(...emails).chain(arbitraryCase);
    const leaf = fc.oneof(
      anEmail,
      anEmail.map((e) => `see ${e} for details`),
      anEmail.map((e) => `${e},${emails[0]}`),
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const key = fc.oneof(fc.string(), fc.constantFrom('email', 'contact', 'phone', 'list', 'note'), anEmail);
    return fc.record({
      emails: fc.constant(emails),
      input: fc.object({ key, values: [leaf], maxDepth: 5, maxKeys: 6 }),
    });
  });

  it('holds for generated structures (values, array elements, keys, embedded text)', () => {
    fc.assert(
      fc.property(scenario, ({ emails, input }) => {
        const r = guardPii(input, { mode: 'hash', rootPath: 'traits' });
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const out = JSON.stringify(r.value).toLowerCase();
        const report = JSON.stringify(r.report).toLowerCase();
        for (const e of emails) {
          expect(out).not.toContain(e.toLowerCase());
          expect(report).not.toContain(e.toLowerCase());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reject mode rejects every generated structure that carries an email', () => {
    fc.assert(
      fc.property(scenario, ({ emails, input }) => {
        const hashed = guardPii(input, { mode: 'hash' });
        const rejected = guardPii(input, { mode: 'reject' });
        const carried = hashed.ok && hashed.report.hashed > 0;
        expect(rejected.ok).toBe(!carried);
        if (!rejected.ok) {
          for (const e of emails) expect(rejected.message.toLowerCase()).not.toContain(e.toLowerCase());
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is idempotent: guarding its own output changes nothing and finds nothing', () => {
    fc.assert(
      fc.property(scenario, ({ input }) => {
        const once = guardPii(input, { mode: 'hash' });
        if (!once.ok) return;
        const twice = guardPii(once.value, { mode: 'hash' });
        expect(twice).toEqual({
          ok: true,
          value: once.value,
          report: { hashed: 0, dropped: 0, paths: [], unsafeKeys: 0 },
        });
      }),
      { numRuns: 200 },
    );
  });

  it('output is always JSON-serialisable and the input is left untouched', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const input = { v: value } as JsonObject;
        const before = JSON.stringify(input);
        const r = guardPii(input, { mode: 'hash' });
        expect(JSON.stringify(input)).toBe(before);
        if (r.ok) expect(() => JSON.stringify(r.value)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: no phone number or IP address in the shapes of issue 13 reaches the output', () => {
  const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n });
  const phone = fc.tuple(digits(3), digits(3), digits(4)).chain(([a, b, c]) => {
    const [x, y, z] = [a.join(''), b.join(''), c.join('')];
    return fc.constantFrom(
      `(${x}) ${y}-${z}`,
      `${x} ${y} ${z}`,
      `${x}-${y}-${z}`,
      `+1 ${x} ${y} ${z}`,
      `0${x} ${y}${z}`,
    );
  });
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
  const ip = fc.oneof(
    ipv4,
    fc.tuple(ipv4, fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `${a}:${p}`),
    fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 65535 }))
      .map(([h, p]) => `[2001:db8::${h.toString(16)}]:${p}`),
    fc.tuple(ipv4, ipv4).map(([a, b]) => `${a}, ${b}`),
  );
  const plainKey = fc.constantFrom('contact', 'value', 'office', 'hops', 'upstream', 'x');

  it('holds as values, in arrays under phone keys, and (IPs) inside text', () => {
    fc.assert(
      fc.property(phone, ip, plainKey, (p, address, key) => {
        const r = hash({
          [key]: p,
          phones: [p, { home: p }],
          note: `seen at ${address} today`,
          [`${key}2`]: address,
        });
        const out = JSON.stringify(r.value);
        expect(out).not.toContain(p);
        for (const part of address.split(', ')) expect(out).not.toContain(part);
      }),
      { numRuns: 300 },
    );
  });
});
