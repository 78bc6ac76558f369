import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/hash.ts';
import { identifyEvent, sendEvents } from '../helpers/sdk-events.ts';
import {
  bearer,
  createKey,
  createProject,
  createSdkProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * An erasure gives up exactly the replay envelopes that name the erased user in that project: the
 * lookups that answered with them and the requests whose path names them (the erasure's own 202).
 * Not, as a substring search did, every envelope whose text contains the user id: a user called
 * `active` is in every `"status":"active"`.
 */
describe('erasure and the idempotency cache', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  let otherProjectId: string;
  beforeAll(async () => {
    t = await createTestApp();
    let pk: string;
    ({ org, projectId, publishableKey: pk } = await createSdkProject(t.app));
    otherProjectId = (await createProject(t.app, org, 'Other')).id;
    const otherPk = (await createKey(t.app, org, { type: 'publishable', project_id: otherProjectId })).secret;
    await sendEvents(t.app, pk, [
      identifyEvent('active', { email: 'active-user@example.com' }),
      identifyEvent('u_keep', { email: 'keep-user@example.com' }),
    ]);
    await sendEvents(t.app, otherPk, [identifyEvent('active', { email: 'active-user@example.com' })]);
  });
  afterAll(() => t.close());

  const withKey = (key: string) => ({ ...bearer(org.secret), 'idempotency-key': key });
  const lookup = (pid: string, email: string, key: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/projects/${pid}/users/lookup`,
      headers: withKey(key),
      payload: { email },
    });
  async function storedKeys(): Promise<Set<string>> {
    const { rows } = await t.db.systemPool.query('SELECT key FROM idempotency_keys WHERE org_id = $1', [
      org.id,
    ]);
    return new Set(rows.map((r) => r.key as string));
  }

  it('deletes the envelopes naming the user in this project, and no other', async () => {
    const project = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: withKey('project-env'),
      payload: { name: 'Replayable' },
    });
    expect(project.body).toContain('"status":"active"');
    expect((await lookup(projectId, 'active-user@example.com', 'lookup-active')).json()).toEqual({
      user_ids: ['active'],
    });
    expect((await lookup(projectId, 'keep-user@example.com', 'lookup-keep')).json()).toEqual({
      user_ids: ['u_keep'],
    });
    expect((await lookup(otherProjectId, 'active-user@example.com', 'lookup-other-project')).json()).toEqual({
      user_ids: ['active'],
    });
    const erase = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/active`,
      headers: withKey('erase-active'),
    });
    expect(erase.statusCode, erase.body).toBe(202);
    const dsrId = erase.json().id as string;

    await t.container.erasure.run(org.id, dsrId);

    const left = await storedKeys();
    expect(left.has(sha256('lookup-active'))).toBe(false);
    expect(left.has(sha256('erase-active'))).toBe(false);
    expect(left.has(sha256('project-env'))).toBe(true);
    expect(left.has(sha256('lookup-keep'))).toBe(true);
    expect(left.has(sha256('lookup-other-project'))).toBe(true);
    const status = await t.app.inject({
      method: 'GET',
      url: `/v1/data-subject-requests/${dsrId}`,
      headers: bearer(org.secret),
    });
    expect(status.json().receipt.erased.idempotency_cache).toBe(2);

    const replay = await t.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: withKey('project-env'),
      payload: { name: 'Replayable' },
    });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(project.body);
  });

  it('matches user ids exactly, whatever characters they hold', async () => {
    const odd = 'a"b\\c%_';
    const named = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/${encodeURIComponent(odd)}`,
      headers: withKey('erase-odd'),
    });
    expect(named.statusCode, named.body).toBe(202);
    const prefix = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/a`,
      headers: withKey('erase-prefix'),
    });
    await t.container.erasure.run(org.id, prefix.json().id);
    const left = await storedKeys();
    expect(left.has(sha256('erase-prefix'))).toBe(false);
    expect(left.has(sha256('erase-odd'))).toBe(true);
  });
});
