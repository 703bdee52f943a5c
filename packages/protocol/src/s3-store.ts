import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { NotFoundError, bodyOfAttempt, rangePastEndError, validateObjectKey, validateRange } from './object-store.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or e.g. 'team/atomizer'); no leading or trailing '/'. */
  prefix?: string;
  /** S3-compatible endpoint (MinIO, s3rver, ...). Default: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, else AWS itself. */
  endpoint?: string;
  /** Default: AWS_REGION, then AWS_DEFAULT_REGION, else 'us-east-1' (what MinIO and s3rver accept). */
  region?: string;
  /** Default: the SDK's provider chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, profiles, ...). */
  credentials?: S3Credentials;
  /** Path-style URLs (http://host/bucket/key), needed by MinIO and s3rver. Default true. */
  forcePathStyle?: boolean;
  /** Keys per ListObjectsV2 page (max 1000, S3's own cap). Lower it to exercise pagination cheaply. */
  listPageSize?: number;
  /** Part size of streamed multipart uploads in bytes (S3 minimum and default: 5 MiB). */
  partSize?: number;
  /** Use this client instead of building one (the store does not destroy it). */
  client?: S3Client;
}

/** Options that do not depend on the location (what `openStore` passes through). */
export type S3ConnectionOptions = Omit<S3StoreOptions, 'bucket' | 'prefix'>;

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

type SdkError = { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };

function sdkError(err: unknown): SdkError {
  return typeof err === 'object' && err !== null ? (err as SdkError) : {};
}

function isMissing(err: unknown): boolean {
  const e = sdkError(err);
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/**
 * An object store on any S3-compatible server through @aws-sdk/client-s3.
 *
 * Checksums: SDK v3 >= 3.729 adds CRC32 trailers to uploads by default (aws-chunked
 * encoding). Servers that do not understand the trailer (s3rver, older MinIO) store the
 * chunk framing as the object: the bytes come back corrupted with no error. Checksums are
 * therefore computed and validated only when an operation requires them.
 */
export class S3Store implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly listPageSize: number;
  private readonly partSize: number;

  constructor(opts: S3StoreOptions) {
    if (typeof opts.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) {
      throw new Error(
        `S3Store: bucket ${JSON.stringify(opts.bucket)} is not a valid bucket name (3-63 lowercase letters, digits, '.', '-')`,
      );
    }
    this.bucket = opts.bucket;
    const prefix = opts.prefix ?? '';
    if (prefix !== '') validateObjectKey(prefix, `s3://${opts.bucket} (prefix)`);
    this.prefix = prefix;
    this.endpoint = opts.endpoint ?? env('AWS_ENDPOINT_URL_S3') ?? env('AWS_ENDPOINT_URL');
    const pageSize = opts.listPageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new Error(`S3Store: listPageSize must be an integer in 1..1000, got ${pageSize}`);
    }
    this.listPageSize = pageSize;
    const partSize = opts.partSize ?? 5 * 1024 * 1024;
    if (!Number.isInteger(partSize) || partSize < 5 * 1024 * 1024) {
      throw new Error(`S3Store: partSize must be an integer >= 5 MiB (S3's minimum part), got ${partSize}`);
    }
    this.partSize = partSize;
    this.ownsClient = opts.client === undefined;
    this.client =
      opts.client ??
      new S3Client({
        region: opts.region ?? env('AWS_REGION') ?? env('AWS_DEFAULT_REGION') ?? 'us-east-1',
        ...(this.endpoint !== undefined ? { endpoint: this.endpoint } : {}),
        ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
        forcePathStyle: opts.forcePathStyle ?? true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  describe(): string {
    const where = this.prefix === '' ? `s3://${this.bucket}` : `s3://${this.bucket}/${this.prefix}`;
    return this.endpoint === undefined ? where : `${where} at ${this.endpoint}`;
  }

  /** Release the HTTP connections of a client this store created. */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private fullKey(key: string): string {
    validateObjectKey(key, this.describe());
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  /** Turn SDK errors into ones that say which object and store were involved. */
  private wrap(err: unknown, op: string, key: string): Error {
    const e = sdkError(err);
    if (e.name === 'NoSuchBucket') {
      return new Error(`${op} ${key}: bucket ${this.bucket} does not exist at ${this.endpoint ?? 'AWS S3'}; create it first`, {
        cause: err,
      });
    }
    if (err instanceof Error) {
      return new Error(`${op} ${key} in ${this.describe()} failed: ${err.name}: ${err.message}${hint(err)}`, { cause: err });
    }
    return new Error(`${op} ${key} in ${this.describe()} failed: ${String(err)}`);
  }

  async put(key: string, given: ObjectBody, opts?: PutOptions): Promise<void> {
    const Key = this.fullKey(key);
    const body = bodyOfAttempt(given);
    const ContentType = opts?.contentType ?? 'application/octet-stream';
    try {
      if (body instanceof Uint8Array && body.byteLength <= this.partSize) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.byteLength, ContentType }));
        return;
      }
      // Streams (unknown length) and large buffers: multipart upload, at most
      // queueSize * partSize bytes in memory whatever the object size.
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: body, ContentType },
        partSize: this.partSize,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw this.wrap(err, 'put', key);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.fullKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (res.Body === undefined) throw new Error('response has no body');
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(key, this.describe());
      throw this.wrap(err, 'get', key);
    }
  }

  /** `into` is not used: the SDK hands over bytes of its own, and copying them would be one more pass. */
  async getRange(key: string, start: number, endExclusive: number, _into?: Uint8Array): Promise<Uint8Array> {
    const Key = this.fullKey(key);
    const length = validateRange(key, start, endExclusive, this.describe());
    if (length === 0) {
      // HTTP has no empty range: check existence and size instead.
      const info = await this.head(key);
      if (info === undefined) throw new NotFoundError(key, this.describe());
      if (endExclusive > info.size) throw rangePastEndError(key, start, endExclusive, info.size, this.describe());
      return new Uint8Array(0);
    }
    let bytes: Uint8Array;
    let total: number | undefined;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${start}-${endExclusive - 1}` }));
      if (res.Body === undefined) throw new Error('response has no body');
      bytes = await res.Body.transformToByteArray();
      const m = /\/(\d+)$/.exec(res.ContentRange ?? '');
      total = m?.[1] !== undefined ? Number(m[1]) : undefined;
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(key, this.describe());
      if (sdkError(err).$metadata?.httpStatusCode === 416) {
        const size = (await this.head(key))?.size ?? 0;
        throw rangePastEndError(key, start, endExclusive, size, this.describe());
      }
      throw this.wrap(err, 'getRange', key);
    }
    // s3rver 3.7 reads 'bytes=0-0' as an open range (end 0 is falsy) and sends the whole
    // object from `start`: keep the bytes asked for.
    if (bytes.byteLength > length) bytes = bytes.subarray(0, length);
    // S3 answers a range that runs past the end with the bytes that exist: make it an error.
    if (bytes.byteLength < length) {
      throw rangePastEndError(key, start, endExclusive, total ?? start + bytes.byteLength, this.describe());
    }
    return bytes;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.fullKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.wrap(err, 'head', key);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  /** Every object an S3 server acknowledged is as durable as that server makes it: only checked to exist. */
  async persist(key: string): Promise<void> {
    if (!(await this.exists(key))) throw new NotFoundError(key, this.describe());
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    const keys: string[] = [];
    // ListObjects (v1) with Marker = last key seen, not ListObjectsV2: s3rver 3.7 builds V2
    // continuation tokens with DES, which OpenSSL 3 (Node >= 17) no longer has, so every
    // truncated V2 listing fails with a 500 there. Marker paging works on every S3 server.
    let marker: string | undefined;
    try {
      for (;;) {
        const res = await this.client.send(
          new ListObjectsCommand({ Bucket: this.bucket, Prefix: base + prefix, MaxKeys: this.listPageSize, Marker: marker }),
        );
        const page = (res.Contents ?? []).flatMap((o) => (o.Key !== undefined ? [o.Key] : []));
        for (const k of page) keys.push(k.slice(base.length));
        const last = page[page.length - 1];
        if (res.IsTruncated !== true || last === undefined) break;
        marker = last;
      }
    } catch (err) {
      throw this.wrap(err, 'list', prefix === '' ? '(all keys)' : `${prefix}*`);
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (isMissing(err)) return;
      throw this.wrap(err, 'delete', key);
    }
  }
}

/** What to do next, for the failures a first-time user meets. */
function hint(err: Error): string {
  if (err.name === 'CredentialsProviderError') {
    return ' (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT_URL for an S3-compatible server such as MinIO)';
  }
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return ' (is the S3 endpoint running and reachable? it comes from AWS_ENDPOINT_URL or the endpoint option)';
  }
  return '';
}
