import { Kysely, PostgresDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { createApiKeyAuthenticator } from '../../src/modules/api-keys/api-key-authenticator.ts';
import { generateApiKey, hashApiKey } from '../../src/modules/api-keys/api-key-format.ts';
import {
  bearer,
  createKey,
  createOrg,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * Random well-formed keys (the checksum is public: anyone can make them) must not each cost a
 * database lookup, nor push real keys out of the cache. The authenticator runs here on the real
 * database through a Kysely instance that counts the statements it sends.
 */
describe('API-key authentication under random well-formed keys', () => {
  let t: TestApp;
  let org: TestOrg;
  const statements: string[] = [];
  let counted: Kysely<Database>;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
    counted = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: t.db.appPool }),
      log: (event) => {
        if (event.level === 'query') statements.push(event.query.sql);
      },
    });
  });
  afterAll(() => t.close());

  const lookups = () => statements.filter((s) => s.includes('auth_find_api_key')).length;
  const randomHashes = (n: number) => Array.from({ length: n }, () => generateApiKey('secret').hash);

  it('refuses 2,000 random keys with no key lookup and a few refreshes of the known set', async () => {
    const auth = createApiKeyAuthenticator({ db: counted });
    statements.length = 0;
    const results = await Promise.all(randomHashes(2_000).map((h) => auth.check(h)));
    expect(results.every((r) => r.status === 'unknown')).toBe(true);
    expect(lookups()).toBe(0);
    expect(statements.length).toBeLessThanOrEqual(3);
    // The same key again: remembered, no statement at all.
    const again = generateApiKey('secret').hash;
    await auth.check(again);
    statements.length = 0;
    expect((await auth.check(again)).status).toBe('unknown');
    expect(statements).toHaveLength(0);
  });

  it('keeps real keys cached while 60,000 random keys come and go', async () => {
    const auth = createApiKeyAuthenticator({ db: counted });
    const real = hashApiKey(org.secret);
    expect((await auth.check(real)).status).toBe('ok');
    await Promise.all(randomHashes(60_000).map((h) => auth.check(h)));
    statements.length = 0;
    expect((await auth.check(real)).status).toBe('ok');
    expect(statements).toHaveLength(0);
    expect(auth.cacheSizes().unknown).toBeLessThanOrEqual(10_000);
  });

  it('finds a key created after its known set was loaded, by another process, and knows it revoked', async () => {
    const auth = createApiKeyAuthenticator({ db: counted });
    await auth.check(generateApiKey('secret').hash); // loads the known set
    const created = await createKey(t.app, org, { type: 'secret', name: 'later' });
    const check = await auth.check(hashApiKey(created.secret));
    expect(check).toMatchObject({ status: 'ok', key: { id: created.id, orgId: org.id } });

    const another = await createKey(t.app, org, { type: 'secret', name: 'revoked later' });
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${another.id}`,
      headers: bearer(org.secret),
    });
    expect(revoke.statusCode).toBe(200);
    expect((await auth.check(hashApiKey(another.secret))).status).toBe('revoked');
  });

  it('answers random keys over HTTP as invalid, in the error contract', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/projects',
      headers: bearer(generateApiKey('secret').secret),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('invalid_api_key');
  });
});
