import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  PublicationCheckpoint,
  PublishRequest,
  PublishStep,
  SocialPublisher,
} from '../../src/platforms/publishing-port.ts';
import { registryOf } from '../../src/platforms/publishing-registry.ts';
import { PlatformError } from '../../src/platforms/social-platform.ts';
import {
  clearWaits,
  connectTikTok,
  generateMedia,
  type PublishingApp,
  publish,
  runUntilSettled,
  startPublishingApp,
} from '../helpers/publishing-app.ts';
import { PUBLIC_URL } from '../helpers/social-accounts.ts';
import { bearer, createOrg, createProject, expectError } from '../helpers/test-app.ts';

/**
 * The publications core with a publisher that records its calls (the vendor adapters have their own
 * specs): the state machine's transitions, each checkpoint stored before the next step, the error
 * mapping, budgets, webhooks, audit entries, the post in the account's posts, validation and tenancy.
 */
type Call = { req: PublishRequest; stored: { status: string; checkpoint: PublicationCheckpoint } };

describe('publications (state machine with an injected publisher)', () => {
  let a: PublishingApp;
  const calls: Call[] = [];
  /** Per publication id: what the next call does instead of the normal flow (throw, or a step). */
  const failures = new Map<string, Array<() => never>>();
  let scopes: string[] = ['video.publish'];

  const publisher: SocialPublisher = {
    platforms: ['tiktok'],
    requiredScopes: () => scopes,
    async step(_ctx, _creds, req): Promise<PublishStep> {
      const { rows } = await a.t.db.systemPool.query(
        'SELECT status, checkpoint FROM publications WHERE id = $1',
        [req.publicationId],
      );
      calls.push({ req, stored: rows[0] });
      const fail = failures.get(req.publicationId)?.shift();
      if (fail) fail();
      const chunk = await req.media.read(0, Math.min(64, req.media.bytes));
      if (chunk.length !== Math.min(64, req.media.bytes)) throw new Error('short read');
      const cp = req.checkpoint;
      if (cp.upload_id === undefined)
        return {
          status: 'uploading',
          checkpoint: { upload_id: `up_${req.publicationId}`, chunk: 0 },
          retryAfterMs: 0,
        };
      if (cp.chunk === 0) return { status: 'uploading', checkpoint: { ...cp, chunk: 1 }, retryAfterMs: 0 };
      if (cp.chunk === 1)
        return { status: 'processing', checkpoint: { ...cp, chunk: 2 }, retryAfterMs: 30_000 };
      return {
        status: 'published',
        checkpoint: { ...cp, done: true },
        platformPostId: `post_${req.publicationId.slice(-8)}`,
        permalink: `https://www.tiktok.com/@acme/video/${req.publicationId.slice(-8)}`,
      };
    },
  };

  let accountId: string;
  let videoId: string;
  let imageId: string;

  beforeAll(async () => {
    a = await startPublishingApp(registryOf([publisher]));
    accountId = await connectTikTok(a, 'open_pub_core');
    videoId = await generateMedia(a, 'video');
    imageId = await generateMedia(a, 'image');
  }, 120_000);
  afterAll(() => a.close());

  const callsOf = (id: string) => calls.filter((c) => c.req.publicationId === id);
  const eventTypes = async (id: string) =>
    (
      await a.t.db.systemPool.query(
        `SELECT type FROM webhook_events WHERE org_id = $1 AND data->>'id' = $2 ORDER BY id`,
        [a.org.id, id],
      )
    ).rows.map((r) => r.type);
  const auditActions = async (id: string) =>
    (
      await a.t.db.systemPool.query(
        'SELECT action FROM audit_log WHERE org_id = $1 AND resource_id = $2 ORDER BY seq',
        [a.org.id, id],
      )
    ).rows.map((r) => r.action);

  async function queued(body: object = {}) {
    const res = await publish(a, accountId, {
      media_id: videoId,
      caption: 'Bold mornings #coldbrew',
      ...body,
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ status: 'queued', object: 'publication' });
    expect(res.json().id).toMatch(/^pub_[0-9a-z]{26}$/);
    return res.json().id as string;
  }

  it('runs queued → uploading → processing → published, each checkpoint stored before the next step', async () => {
    const id = await queued({ privacy: 'SELF_ONLY' });
    const done = await runUntilSettled(a, id);
    expect(done).toMatchObject({
      id,
      status: 'published',
      social_account_id: accountId,
      media_id: videoId,
      platform: 'tiktok',
      platform_post_id: `post_${id.slice(-8)}`,
      permalink: `https://www.tiktok.com/@acme/video/${id.slice(-8)}`,
    });
    expect(done.error).toBeUndefined();
    const mine = callsOf(id);
    expect(mine.map((c) => c.stored.status)).toEqual(['queued', 'uploading', 'uploading', 'processing']);
    // What each step was handed is what the previous step's result left in the row.
    for (const c of mine) expect(c.stored.checkpoint).toEqual(c.req.checkpoint);
    expect(mine.map((c) => c.req.checkpoint.chunk ?? null)).toEqual([null, 0, 1, 2]);
    expect(mine[0]?.req.privacy).toBe('SELF_ONLY');
    expect(mine[0]?.req.caption).toBe('Bold mornings #coldbrew');
    // The signed media URL is under LAYERS_PUBLIC_URL; it never reaches the row.
    expect(mine[0]?.req.media.publicUrl().startsWith(`${PUBLIC_URL}/`)).toBe(true);
    const { rows } = await a.t.db.systemPool.query(
      'SELECT checkpoint::text AS cp FROM publications WHERE id = $1',
      [id],
    );
    expect(rows[0].cp).not.toMatch(/https?:|sig=|exp=/);

    expect(await eventTypes(id)).toEqual(['publication.published']);
    expect(await auditActions(id)).toEqual(['publication.created', 'publication.published']);
    const posts = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}/posts`,
      headers: bearer(a.org.secret),
    });
    expect(posts.json().data.map((p: { platform_post_id: string }) => p.platform_post_id)).toContain(
      `post_${id.slice(-8)}`,
    );
    // A second run of a published publication does nothing.
    await a.t.container.publishing.runner.run(a.org.id, id);
    expect(callsOf(id)).toHaveLength(4);
  });

  it('lists the account’s publications, paginated newest first', async () => {
    const first = await queued();
    const second = await queued();
    const page = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}/publications?limit=1`,
      headers: bearer(a.org.secret),
    });
    expect(page.statusCode).toBe(200);
    expect(page.json().data.map((p: { id: string }) => p.id)).toEqual([second]);
    expect(page.json().has_more).toBe(true);
    const next = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}/publications?limit=1&starting_after=${second}`,
      headers: bearer(a.org.secret),
    });
    expect(next.json().data.map((p: { id: string }) => p.id)).toEqual([first]);
  });

  it('honours Idempotency-Key: the same request twice is one publication', async () => {
    const body = { media_id: videoId, caption: 'Once only' };
    const r1 = await publish(a, accountId, body, { 'idempotency-key': 'pub-once-1' });
    const r2 = await publish(a, accountId, body, { 'idempotency-key': 'pub-once-1' });
    expect(r1.statusCode).toBe(202);
    expect(r2.json().id).toBe(r1.json().id);
    const { rows } = await a.t.db.systemPool.query(
      `SELECT count(*)::int AS n FROM publications WHERE caption = 'Once only'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('maps a refusal to the adapter’s code and keeps the platform’s code', async () => {
    const id = await queued();
    failures.set(id, [
      () => {
        throw new PlatformError('refused', 'tiktok refused', {
          vendorCode: 'spam_risk_too_many_posts',
          apiCode: 'publishing_cap_reached',
        });
      },
    ]);
    const done = await runUntilSettled(a, id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({
      code: 'publishing_cap_reached',
      platform_code: 'spam_risk_too_many_posts',
    });
    expect(await eventTypes(id)).toEqual(['publication.failed']);
    expect(await auditActions(id)).toEqual(['publication.created', 'publication.failed']);

    const plain = await queued();
    failures.set(plain, [
      () => {
        throw new PlatformError('refused', 'refused', { vendorCode: 'weird_code' });
      },
    ]);
    expect((await runUntilSettled(a, plain)).error).toMatchObject({
      code: 'platform_refused',
      platform_code: 'weird_code',
    });
  });

  it('retries transient failures with backoff, then fails platform_unavailable; a recovered one resumes', async () => {
    const id = await queued();
    const transient = () => {
      throw new PlatformError('transient', 'tiktok 503', { vendorCode: 'internal_error' });
    };
    failures.set(id, [transient, transient]);
    await clearWaits(a, id);
    await a.t.container.publishing.runner.run(a.org.id, id);
    const { rows } = await a.t.db.systemPool.query(
      `SELECT attempts, status, next_step_at > now() AS waits FROM publications WHERE id = $1`,
      [id],
    );
    expect(rows[0]).toMatchObject({ attempts: 1, status: 'queued', waits: true });
    // Until next_step_at, a run does not step.
    const before = callsOf(id).length;
    await a.t.container.publishing.runner.run(a.org.id, id);
    expect(callsOf(id).length).toBe(before);
    expect((await runUntilSettled(a, id)).status).toBe('published');

    const doomed = await queued();
    failures.set(
      doomed,
      Array.from({ length: 5 }, () => transient),
    );
    const done = await runUntilSettled(a, doomed);
    expect(done.error).toMatchObject({ code: 'platform_unavailable', platform_code: 'internal_error' });
    expect(callsOf(doomed)).toHaveLength(5);
  });

  it('waits out a rate limit (Retry-After), and after an hour of them fails platform_rate_limited', async () => {
    const id = await queued();
    const limited = () => {
      throw new PlatformError('rate_limited', 'tiktok 429', {
        vendorCode: 'rate_limit_exceeded',
        retryAfterMs: 120_000,
      });
    };
    failures.set(id, [limited]);
    await clearWaits(a, id);
    await a.t.container.publishing.runner.run(a.org.id, id);
    const { rows } = await a.t.db.systemPool.query(
      `SELECT status, extract(epoch FROM next_step_at - now()) AS wait_s, rate_limited_since IS NOT NULL AS limited FROM publications WHERE id = $1`,
      [id],
    );
    expect(rows[0].status).toBe('queued');
    expect(Number(rows[0].wait_s)).toBeGreaterThan(110);
    expect(rows[0].limited).toBe(true);
    // Rate limited since more than an hour: the next 429 ends it.
    await a.t.db.systemPool.query(
      `UPDATE publications SET rate_limited_since = now() - interval '61 minutes', next_step_at = NULL WHERE id = $1`,
      [id],
    );
    failures.set(id, [limited]);
    const done = await runUntilSettled(a, id);
    expect(done.error).toMatchObject({ code: 'platform_rate_limited', platform_code: 'rate_limit_exceeded' });
  });

  it('keeps to the per-token budget shared in PostgreSQL (TikTok: 6 inits a minute)', async () => {
    const id = await queued();
    await clearWaits(a, id);
    await a.t.db.systemPool.query(
      `INSERT INTO publishing_budget (org_id, social_account_id, kind, window_start, calls)
       VALUES ($1, $2, 'init', now() - interval '20 seconds', 6)
       ON CONFLICT (social_account_id, kind) DO UPDATE SET window_start = excluded.window_start, calls = 6`,
      [a.org.id, accountId],
    );
    await a.t.container.publishing.runner.run(a.org.id, id);
    expect(callsOf(id)).toHaveLength(0);
    const { rows } = await a.t.db.systemPool.query(
      `SELECT extract(epoch FROM next_step_at - now()) AS wait_s FROM publications WHERE id = $1`,
      [id],
    );
    expect(Number(rows[0].wait_s)).toBeGreaterThan(30);
    expect(Number(rows[0].wait_s)).toBeLessThanOrEqual(41);
    await a.t.db.systemPool.query(`DELETE FROM publishing_budget WHERE social_account_id = $1`, [accountId]);
    expect((await runUntilSettled(a, id)).status).toBe('published');
  });

  it('a token the platform refuses mid-flow: failed account_needs_reconnect, the account marked', async () => {
    const other = await connectTikTok(a, 'open_pub_reauth');
    const res = await publish(a, other, { media_id: videoId, caption: 'Reauth' });
    const id = res.json().id as string;
    // One normal step first: the refusal comes mid-flow.
    await clearWaits(a, id);
    await a.t.container.publishing.runner.run(a.org.id, id);
    expect(callsOf(id).length).toBeGreaterThan(0);
    failures.set(id, [
      () => {
        throw new PlatformError('reauth', 'token revoked', { vendorCode: 'access_token_invalid' });
      },
    ]);
    const done = await runUntilSettled(a, id);
    expect(done.error).toMatchObject({
      code: 'account_needs_reconnect',
      platform_code: 'access_token_invalid',
    });
    expect(await eventTypes(id)).toEqual(['publication.failed']);
    const acct = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${other}`,
      headers: bearer(a.org.secret),
    });
    expect(acct.json().status).toBe('needs_reconnect');
    expect(await eventTypes(other)).toContain('social_account.needs_reconnect');
    // The account is marked before the publication fails: a worker killed between the two writes
    // leaves a publication the next run fails on the account's status (the next test), never a
    // failed publication with the account still active.
    const { rows: order } = await a.t.db.systemPool.query(
      `SELECT type FROM webhook_events WHERE org_id = $1 AND data->>'id' = ANY($2)
          AND type IN ('social_account.needs_reconnect', 'publication.failed') ORDER BY id`,
      [a.org.id, [id, other]],
    );
    expect(order.map((r) => r.type)).toEqual(['social_account.needs_reconnect', 'publication.failed']);
    // A needs_reconnect account takes no new publication.
    expectError(await publish(a, other, { media_id: videoId, caption: 'x' }), 409, 'conflict');
  });

  it('an account revoked mid-flow: the next step fails account_needs_reconnect, nothing more is sent', async () => {
    const other = await connectTikTok(a, 'open_pub_revoked');
    const id = (await publish(a, other, { media_id: videoId, caption: 'Revoked' })).json().id as string;
    await clearWaits(a, id);
    await a.t.container.publishing.runner.run(a.org.id, id);
    const sent = callsOf(id).length;
    expect(sent).toBeGreaterThan(0);
    const del = await a.t.app.inject({
      method: 'DELETE',
      url: `/v1/social-accounts/${other}`,
      headers: bearer(a.org.secret),
    });
    expect(del.statusCode).toBeLessThan(300);
    const done = await runUntilSettled(a, id);
    expect(done.status).toBe('failed');
    expect(done.error.code).toBe('account_needs_reconnect');
    expect(callsOf(id)).toHaveLength(sent);
  });

  it('validates every input before queuing (4xx, never 5xx) and hides other orgs’ ids (404)', async () => {
    const tooLong = await publish(a, accountId, { media_id: videoId, caption: 'x'.repeat(2201) });
    expectError(tooLong, 400, 'parameter_invalid');
    expect(tooLong.json().error.param).toBe('caption');
    const image = await publish(a, accountId, { media_id: imageId, caption: 'An image' });
    expectError(image, 400, 'parameter_invalid');
    expect(image.json().error.param).toBe('media_id');
    expectError(
      await publish(a, accountId, { media_id: 'med_00000000000000000000000000', caption: 'x' }),
      404,
    );
    expectError(await publish(a, accountId, { media_id: 'not-an-id', caption: 'x' }), 404);
    expectError(await publish(a, accountId, { caption: 'no media' }), 400);
    expectError(await publish(a, accountId, { media_id: videoId, caption: 'x', extra: 1 }), 400);
    expectError(await publish(a, accountId, { media_id: videoId, caption: 'x', privacy: 'a b' }), 400);
    expectError(await publish(a, accountId, { media_id: videoId, caption: 'bell\u0007' }), 400);
    // Media of another project of the same org: 404 (an account publishes its own project's media).
    const otherProject = (await createProject(a.t.app, a.org)).id;
    const foreignMedia = await generateMedia(a, 'image', otherProject);
    expectError(await publish(a, accountId, { media_id: foreignMedia, caption: 'x' }), 404);
    // Scopes the publisher needs that the account lacks: 409, reconnect.
    scopes = ['video.publish', 'video.upload'];
    const scoped = await publish(a, accountId, { media_id: videoId, caption: 'x' });
    scopes = ['video.publish'];
    expectError(scoped, 409, 'conflict');
    expect(scoped.json().error.message).toContain('video.upload');

    const id = await queued();
    const orgB = await createOrg(a.t.app, 'Org B');
    await createProject(a.t.app, orgB);
    const asB = (method: 'GET' | 'POST', url: string, payload?: object) =>
      a.t.app.inject({ method, url, headers: bearer(orgB.secret), ...(payload ? { payload } : {}) });
    expectError(await asB('GET', `/v1/publications/${id}`), 404);
    expectError(await asB('GET', `/v1/social-accounts/${accountId}/publications`), 404);
    expectError(
      await asB('POST', `/v1/social-accounts/${accountId}/publications`, { media_id: videoId, caption: 'x' }),
      404,
    );
    expectError(await asB('GET', '/v1/publications/pub_00000000000000000000000000'), 404);
    const { rows } = await a.t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM publications WHERE org_id <> $1',
      [a.org.id],
    );
    expect(rows[0].n).toBe(0);
  }, 120_000);
});
