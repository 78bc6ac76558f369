import { describe, expect, it } from 'vitest';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';

/**
 * Segment's 32 KB limit is on each message as the client sent it (the batch's shared `context` is not
 * part of it): the native event the mapping makes of a message is not measured a second time.
 */
describe('Segment message size', () => {
  const s = useSdkProjectApp();
  const auth = () => ({ authorization: `Basic ${Buffer.from(`${s.pk}:`).toString('base64')}` });

  // Four property strings under the per-string cap, about 31 KB: a message just under 32 KB.
  const properties = Object.fromEntries(['a', 'b', 'c', 'd'].map((k) => [k, k.repeat(7900)]));
  const message = (id: string) => ({
    type: 'track',
    messageId: id,
    userId: 'u_size',
    event: 'e',
    properties,
  });

  it('a message under 32 KB is stored even when the batch context merged into it passes 32 KB', async () => {
    expect(Buffer.byteLength(JSON.stringify(message('m-size-1')))).toBeLessThan(32 * 1024);
    const res = await s.t.app.inject({
      method: 'POST',
      url: '/segment/v1/batch',
      headers: auth(),
      payload: {
        batch: [message('m-size-1'), message('m-size-2')],
        // Merged into each message's context: the app's fields are read for the destinations, not stored.
        context: { app: { name: 'Size test', build: '1', notes: 'n'.repeat(3000) } },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, accepted: 2, duplicates: 0, rejected: [] });
  });

  it('a message over 32 KB as sent is still a 413 naming it', async () => {
    const big = { ...message('m-size-3'), properties: { ...properties, e: 'e'.repeat(2000) } };
    const res = await s.t.app.inject({
      method: 'POST',
      url: '/segment/v1/batch',
      headers: auth(),
      payload: { batch: [message('m-size-4'), big] },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'body_too_large', param: 'batch[1]' });
  });
});
