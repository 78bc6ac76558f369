import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { EgressError } from '../../egress/egress-error.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { HttpMethod } from '../../egress/egress-types.ts';
import { KEY_PATTERN, type MediaStore, type StoreContext } from './media-store.ts';

/**
 * The S3 media store: @aws-sdk/client-s3 with a request handler that sends every request through
 * the egress gateway (vendor aws_s3, purpose media_store, data class generated_media), so S3 calls
 * are allowlisted and recorded like every vendor call. Path-style addressing and checksums only when
 * required (S3-compatible stores reject the SDK's default trailers).
 *
 * Memory stays bounded (never a whole video): uploads go in parts of PART_BYTES (one PutObject below
 * that, a multipart upload above it), read from the file part by part; downloads stream the object
 * as a sequence of ranged GETs of PART_BYTES each.
 */
export const PART_BYTES = 8 * 1024 * 1024;

type SdkRequest = {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
};

type CallContext = StoreContext & { records: number };

export function createS3MediaStore(deps: {
  egress: Pick<EgressGateway, 'request'>;
  bucket: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}): MediaStore {
  function queryString(q: SdkRequest['query']): string {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(q ?? {})) {
      if (v === null || v === undefined) parts.push(encodeURIComponent(k));
      else
        for (const one of Array.isArray(v) ? v : [v])
          parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`);
    }
    return parts.length ? `?${parts.join('&')}` : '';
  }

  async function bodyBytes(body: unknown): Promise<Uint8Array | undefined> {
    if (body === undefined || body === null) return undefined;
    if (typeof body === 'string') return Buffer.from(body);
    if (body instanceof Uint8Array) return body;
    throw new Error('the S3 store sends only bounded byte bodies');
  }

  const requestHandler = {
    async handle(request: SdkRequest, options?: { abortSignal?: unknown; ctx?: CallContext }) {
      const ctx = options?.ctx ?? { orgId: '', projectId: null, records: 1 };
      const url = `${request.protocol}//${request.hostname}${request.path}${queryString(request.query)}`;
      // Every header as signed (SigV4 covers Host: the real vendor host, also when redirected to a fake).
      // (Not `Expect: 100-continue`: undici does not send it, and SigV4 never signs it.)
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) if (k.toLowerCase() !== 'expect') headers[k] = v;
      const bytes = await bodyBytes(request.body);
      const call = {
        orgId: ctx.orgId,
        projectId: ctx.projectId,
        vendor: 'aws_s3',
        purpose: 'media_store' as const,
        dataClasses: bytes ? (['generated_media'] as const) : ([] as const),
        records: ctx.records,
        method: request.method as HttpMethod,
        url,
        headers,
        ...(bytes
          ? { body: { bytes, contentType: headers['content-type'] ?? 'application/octet-stream' } }
          : {}),
        maxResponseBytes: PART_BYTES + 64 * 1024,
        timeoutMs: 120_000,
      };
      let status: number;
      let resHeaders: Record<string, string | string[] | undefined>;
      let body: Buffer;
      try {
        const res = await deps.egress.request(call);
        ({ status, body } = res);
        resHeaders = { ...res.headers };
      } catch (error) {
        if (!(error instanceof EgressError) || error.status === undefined) throw error;
        status = error.status;
        resHeaders = { ...(error.headers ?? {}) };
        body = error.body ?? Buffer.alloc(0);
      }
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(resHeaders))
        if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
      return { response: { statusCode: status, reason: '', headers: flat, body: Readable.from([body]) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };

  const client = new S3Client({
    region: deps.region,
    endpoint: deps.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: deps.accessKeyId, secretAccessKey: deps.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's handler type comes from a transitive package.
    requestHandler: requestHandler as any,
  });
  // The handler needs to know whom each request is for: the SDK passes handler options through.
  // Whom each request is for reaches the handler through the SDK's handler options.
  // biome-ignore lint/suspicious/noExplicitAny: command and output types differ per operation.
  const send = (ctx: StoreContext, command: any, records = 1): Promise<any> =>
    client.send(command, { ctx: { ...ctx, records } } as never);

  const checkKey = (key: string) => {
    if (!KEY_PATTERN.test(key)) throw new Error('invalid media key');
  };
  const Bucket = deps.bucket;

  async function readPart(file: string, offset: number, length: number): Promise<Buffer> {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  return {
    kind: 's3',
    async put(ctx, key, source) {
      checkKey(key);
      if (source.bytes <= PART_BYTES) {
        await send(
          ctx,
          new PutObjectCommand({
            Bucket,
            Key: key,
            Body: await readPart(source.file, 0, source.bytes),
            ContentType: source.contentType,
            ContentLength: source.bytes,
          }),
        );
        return;
      }
      const created = await send(
        ctx,
        new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: source.contentType }),
      );
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let offset = 0, n = 1; offset < source.bytes; offset += PART_BYTES, n++) {
        const chunk = await readPart(source.file, offset, Math.min(PART_BYTES, source.bytes - offset));
        const up = await send(
          ctx,
          new UploadPartCommand({
            Bucket,
            Key: key,
            UploadId: created.UploadId,
            PartNumber: n,
            Body: chunk,
            ContentLength: chunk.length,
          }),
        );
        parts.push({ ETag: up.ETag as string, PartNumber: n });
      }
      await send(
        ctx,
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: key,
          UploadId: created.UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    },
    async get(ctx, key) {
      checkKey(key);
      let size: number;
      try {
        const head = await send(ctx, new HeadObjectCommand({ Bucket, Key: key }));
        size = Number(head.ContentLength ?? 0);
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return null;
        throw error;
      }
      async function* ranges() {
        for (let offset = 0; offset < size; offset += PART_BYTES) {
          const end = Math.min(size, offset + PART_BYTES) - 1;
          const res = await send(
            ctx,
            new GetObjectCommand({ Bucket, Key: key, Range: `bytes=${offset}-${end}` }),
          );
          yield Buffer.from(
            await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
          );
        }
      }
      return { stream: Readable.from(ranges()), bytes: size };
    },
    async exists(ctx, key) {
      checkKey(key);
      try {
        await send(ctx, new HeadObjectCommand({ Bucket, Key: key }));
        return true;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return false;
        throw error;
      }
    },
    async delete(ctx, key) {
      checkKey(key);
      await send(ctx, new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async list(ctx, prefix) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await send(
          ctx,
          new ListObjectsV2Command({
            Bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    },
  };
}
