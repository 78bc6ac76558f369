import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scanCall } from '../../src/egress/content-guard.ts';
import { EgressError } from '../../src/egress/egress-error.ts';
import type { EgressCall, EgressPurpose } from '../../src/egress/egress-types.ts';
import { type LocalHttpServer, startLocalHttpServer } from '../fakes/local-http-server.ts';
import { llmCall, testGateway } from '../helpers/egress-harness.ts';

/**
 * The content guard, per purpose: a canary email, phone number, IP address, IDFA and the SHA-256 of
 * an email, each placed where that purpose's calls carry text (a prompt, a caption, a form field, a
 * query parameter, a URL path, a JSON key), whole and embedded in a sentence. Every purpose refuses
 * them before a socket opens, except that `capi` (to a destination the project enabled) may carry
 * the digest and the device id. No canary reaches a log line, an error message or the ledger.
 */
const EMAIL = 'canary.person@example.com';
const CANARIES = {
  email: EMAIL,
  phone: '+14155550123',
  ip: '203.0.113.77',
  idfa: '6D92078A-8246-4BA4-AE5B-76104861E7DC',
  sha256: createHash('sha256').update(EMAIL).digest('hex'),
} as const;
type Canary = keyof typeof CANARIES;

/** One call per purpose, with the canary (`v`) where that purpose's calls carry text. */
const CALLS: Record<EgressPurpose, (v: string) => EgressCall[]> = {
  llm: (v) => [
    llmCall({ body: { json: { model: 'm', input: v } } }),
    llmCall({ body: { json: { model: 'm', input: `Write a caption. Contact: ${v}, thanks.` } } }),
    llmCall({
      body: { json: { model: 'm', messages: [{ role: 'user', content: [{ text: `see ${v}` }] }] } },
    }),
  ],
  publishing: (v) => [
    call('meta', 'publishing', ['post_content'], 'https://graph.facebook.com/v25.0/1789/media', {
      caption: v,
    }),
    call('meta', 'publishing', ['post_content'], 'https://graph.facebook.com/v25.0/1789/media', {
      caption: `New drop today! Questions → ${v}`,
    }),
    call(
      'tiktok',
      'publishing',
      ['post_content'],
      'https://open.tiktokapis.com/v2/post/publish/video/init/',
      {
        post_info: { title: `hello ${v} world` },
      },
    ),
  ],
  metrics: (v) => [
    call(
      'google',
      'metrics',
      ['platform_ids'],
      `https://www.googleapis.com/youtube/v3/videos?part=statistics&id=${encodeURIComponent(v)}`,
    ),
    call('tiktok', 'metrics', ['platform_ids'], 'https://open.tiktokapis.com/v2/video/query/', {
      filters: { video_ids: [v] },
    }),
  ],
  ads: (v) => [
    call('tiktok', 'ads', ['ad_settings'], 'https://business-api.tiktok.com/open_api/v1.3/campaign/create/', {
      campaign_name: v,
    }),
    call('meta', 'ads', ['ad_settings'], 'https://graph.facebook.com/v25.0/act_1/campaigns', {
      name: 'Summer',
      targeting: { [v]: true },
    }),
  ],
  oauth: (v) => [
    {
      ...call('google', 'oauth', ['oauth_credentials'], 'https://oauth2.googleapis.com/revoke'),
      method: 'POST',
      body: { form: { token: v } as Record<string, string> },
    },
    {
      ...call('tiktok', 'oauth', ['oauth_credentials'], 'https://open.tiktokapis.com/v2/oauth/token/'),
      method: 'POST',
      body: { form: { grant_type: 'authorization_code', code: `x ${v}` } as Record<string, string> },
    },
  ],
  media_store: (v) => [
    {
      ...call(
        'aws_s3',
        'media_store',
        ['generated_media'],
        `https://media-bucket.s3.us-east-1.amazonaws.com/media/${encodeURIComponent(v)}.png`,
      ),
      method: 'PUT',
      body: { bytes: new Uint8Array([137, 80, 78, 71]), contentType: 'image/png' },
    },
    {
      ...call(
        'aws_s3',
        'media_store',
        [],
        'https://media-bucket.s3.us-east-1.amazonaws.com/media/x.png?uploads',
      ),
      method: 'POST',
      body: {
        text: `<CompleteMultipartUpload><Part>${v}</Part></CompleteMultipartUpload>`,
        contentType: 'application/xml',
      },
    },
  ],
  capi: (v) => [
    call('meta', 'capi', ['conversion_events'], 'https://graph.facebook.com/v25.0/123/events', {
      data: [{ event_name: 'Purchase', user_data: { em: [v] } }],
    }),
    call('meta', 'capi', ['conversion_events'], 'https://graph.facebook.com/v25.0/123/events', {
      data: [{ event_name: 'Purchase', custom_data: { note: `ref ${v}` } }],
    }),
  ],
};

function call(
  vendor: string,
  purpose: EgressPurpose,
  classes: EgressCall['dataClasses'],
  url: string,
  json?: unknown,
): EgressCall {
  return llmCall({
    vendor,
    purpose,
    dataClasses: classes,
    url,
    method: json === undefined ? 'GET' : 'POST',
    body: json === undefined ? undefined : { json },
  });
}

const REDIRECTED = [
  'api.openai.com',
  'graph.facebook.com',
  'open.tiktokapis.com',
  'business-api.tiktok.com',
  'www.googleapis.com',
  'oauth2.googleapis.com',
  'media-bucket.s3.us-east-1.amazonaws.com',
];

describe('the egress content guard', () => {
  let server: LocalHttpServer;
  let h: ReturnType<typeof testGateway>;
  beforeAll(async () => {
    server = await startLocalHttpServer();
    h = testGateway({
      redirects: Object.fromEntries(REDIRECTED.map((host) => [host, server.url])),
      destinations: async () => [{ type: 'meta_capi', vendor: 'meta', hosts: ['graph.facebook.com'] }],
    });
  });
  afterEach(() => server.reset());
  afterAll(async () => {
    await h.gateway.close();
    await server.close();
  });

  const refusedFor = (purpose: EgressPurpose): Canary[] =>
    purpose === 'capi' ? ['email', 'phone', 'ip'] : ['email', 'phone', 'ip', 'idfa', 'sha256'];

  for (const purpose of Object.keys(CALLS) as EgressPurpose[]) {
    it(`${purpose}: refuses ${refusedFor(purpose).join(', ')} before a socket opens`, async () => {
      const before = await h.counter('layers_egress_refusals_total', { purpose, reason: 'content_refused' });
      let refusals = 0;
      for (const canary of refusedFor(purpose)) {
        for (const c of CALLS[purpose](CANARIES[canary])) {
          const error = await h.gateway.request(c).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, `${purpose} ${canary} ${c.url}`).toBeInstanceOf(EgressError);
          expect((error as EgressError).code, `${purpose} ${canary} ${c.url}`).toBe('content_refused');
          expect((error as EgressError).message).not.toContain(CANARIES[canary]);
          refusals++;
        }
      }
      expect(server.connections()).toBe(0);
      expect(await h.counter('layers_egress_refusals_total', { purpose, reason: 'content_refused' })).toBe(
        before + refusals,
      );
      // The same calls without a canary leave.
      for (const c of CALLS[purpose]('Summer sale 2026, 19.99 USD, v2.3.0, id 17900000000000000')) {
        const res = await h.gateway.request(c);
        expect(res.status, c.url).toBe(200);
      }
      expect(server.requests.length).toBe(CALLS[purpose]('x').length);
    });
  }

  it('capi may carry a SHA-256 and a device id, to the destination the project enabled', async () => {
    for (const canary of ['sha256', 'idfa'] as const)
      for (const c of CALLS.capi(CANARIES[canary])) expect((await h.gateway.request(c)).status).toBe(200);
    expect(server.requests).toHaveLength(4);
  });

  it('refuses values under keys that name an identifier, whatever they look like', async () => {
    for (const json of [
      { idfa: 'not-a-uuid-1' },
      { user: { ip_address: 'x' } },
      { email: 'someone at home' },
      { phone: '555' },
    ]) {
      const c = llmCall({ body: { json: { model: 'm', input: 'hi', ...json } } });
      await expect(h.gateway.request(c)).rejects.toMatchObject({ code: 'content_refused' });
    }
    expect(server.connections()).toBe(0);
  });

  it('never logs a canary', () => {
    const text = h.logs.join('\n');
    for (const value of Object.values(CANARIES)) {
      expect(text).not.toContain(value);
      expect(text.toLowerCase()).not.toContain(value.toLowerCase());
    }
    expect(text).toContain('"reason":"content_refused"');
    expect(JSON.stringify(h.rows)).not.toMatch(/canary|203\.0\.113|4155550123|6D92078A/i);
  });
});

describe('scanCall places', () => {
  it('names where it found what, path first, and finds a segment at either end of the path', () => {
    const email = encodeURIComponent(CANARIES.email);
    const found = scanCall(new URL(`https://x.example/${email}/a/${CANARIES.ip}?q=${email}`), {
      json: { note: CANARIES.phone },
    });
    expect(found).toEqual({ counts: { email: 2, ip: 1, phone: 1 }, places: ['path', 'query', 'body'] });
    expect(scanCall(new URL(`https://x.example/v1?q=${email}`), undefined).places).toEqual(['query']);
    expect(scanCall(new URL('https://x.example/v1/responses'), { text: 'hello' })).toEqual({
      counts: {},
      places: [],
    });
  });
});

describe('scanCall on long text', () => {
  const url = new URL('https://api.openai.com/v1/responses');
  const kinds = (text: string) => Object.keys(scanCall(url, { text }).counts);
  const filler = 'Keep it under 150 characters and avoid hashtags beyond two. '.repeat(20);

  it('finds a digest or a UUID wherever it sits in a long prompt, and nothing in plain prose', () => {
    expect(kinds(filler)).toEqual([]);
    for (let at = 0; at < 80; at += 7) {
      const text = `${filler.slice(0, at)} ${CANARIES.sha256} ${filler.slice(at)}`;
      expect(kinds(text), `digest at ${at}`).toEqual(['sha256']);
      expect(kinds(`${filler.slice(0, at)}x-${CANARIES.idfa}-y${filler}`), `uuid at ${at}`).toEqual([
        'device_id',
      ]);
    }
    expect(kinds(`${filler} ${'a'.repeat(63)} ${'e'.repeat(70)} deadbeef-cafe`)).toEqual([]);
    expect(kinds(`${filler} [fe80::1] and 2001:db8::7 `)).toEqual(['ip']);
    expect(kinds(`${filler} reach us at 203.0.113.77:8080`)).toEqual(['ip']);
  });
});

describe('scanCall on a batch body', () => {
  const url = new URL('https://graph.facebook.com/v25.0/123/events');
  const counts = (json: unknown) => scanCall(url, { json }).counts;

  it('counts every occurrence of a key that names or is an identifier, however often a clean key repeats', () => {
    const events = Array.from({ length: 3 }, () => ({
      event_name: 'Purchase',
      user_data: { em: [CANARIES.sha256], madid: CANARIES.idfa },
      [EMAIL]: 1,
    }));
    expect(counts({ data: events })).toEqual({ sha256: 3, device_id: 3, email: 3 });
  });

  it('takes exactly 64 hex digits for a digest and exactly an 8-4-4-4-12 UUID for a device id', () => {
    const hex = CANARIES.sha256;
    expect(counts({ v: [hex, hex.toUpperCase()] })).toEqual({ sha256: 2 });
    expect(counts({ v: [hex.slice(1), `${hex}a`, `${hex.slice(1)}g`] })).toEqual({});
    const uuid = CANARIES.idfa;
    expect(counts({ v: [uuid, uuid.toLowerCase()] })).toEqual({ device_id: 2 });
    expect(counts({ v: [`${uuid.slice(0, 8)}${uuid.slice(9)}-`, `${uuid.slice(0, 35)}G`] })).toEqual({});
  });
});
