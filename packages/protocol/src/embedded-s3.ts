import { createHash, randomBytes } from 'node:crypto';
import { ReadStream, createWriteStream, fstat } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { S3Credentials } from './s3-store.js';
import { S3Store } from './s3-store.js';

// s3rver 3.x is CommonJS and ships no typings. Loaded through require with the few members
// used typed here, rather than an ambient module declaration, which every package that
// compiles this file from source would also need.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  store: S3rverStore;
}
/** The members of s3rver's FilesystemStore that atomicObjects() replaces and uses. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: 'object' | 'object.md5' | 'metadata.json'): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  getObject(bucket: string, key: string, options?: unknown): Promise<{ content: unknown; metadata: Record<string, unknown> } | null>;
}
interface S3rverObject {
  bucket: string;
  key: string;
  metadata: unknown;
  content: Buffer | Readable;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
  configureBuckets: { name: string; configs: (string | Buffer)[] }[];
}) => S3rverInstance;

/**
 * s3rver, loaded at the first start rather than with this module: it brings koa, busboy
 * and dicer, and only the demo and the test suites declare it (a peer dependency here).
 */
function loadS3rver(): S3rverConstructor {
  try {
    return createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  } catch (err) {
    throw new Error(
      `startEmbeddedS3: cannot load the s3rver package (${(err as Error).message.split('\n')[0]}); ` +
        'it comes with @atomizer/coordinator (the demo) and the test suites, or: npm install s3rver',
    );
  }
}

export interface EmbeddedS3Options {
  /** Folder where the server keeps buckets and objects (created if missing). */
  dir: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Bucket created at start. Default 'atomizer'. */
  bucket?: string;
  /** Interface to bind. Default 127.0.0.1 (not reachable from other machines). */
  address?: string;
}

export interface EmbeddedS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** The fixed key pair s3rver accepts; signatures are checked like real S3. */
  credentials: S3Credentials;
  /** An S3Store on the bucket (optionally under a prefix), for this process. */
  store(prefix?: string): S3Store;
  /** Environment for child processes (workers) so openStore('s3://...') reaches this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * An S3-compatible server in this process on a local folder (s3rver), for tests and the
 * one-machine demo: the same S3 code path as a cluster, with a local endpoint.
 */
export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const bucket = opts.bucket ?? 'atomizer';
  const address = opts.address ?? '127.0.0.1';
  const S3rver = loadS3rver();
  await mkdir(opts.dir, { recursive: true });
  const server = new S3rver({
    address,
    port: opts.port ?? 0,
    silent: true,
    directory: opts.dir,
    // Path-style only: virtual-host buckets would need DNS names for every bucket.
    vhostBuckets: false,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  atomicObjects(server.store);
  const info = await server.run();
  const host = address.includes(':') ? `[${address}]` : address;
  const endpoint = `http://${host}:${info.port}`;
  const credentials: S3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const clients: S3Store[] = [];
  let stopped = false;
  return {
    endpoint,
    bucket,
    credentials,
    store(prefix?: string): S3Store {
      const s = new S3Store({ bucket, ...(prefix !== undefined ? { prefix } : {}), endpoint, credentials, region: 'us-east-1' });
      clients.push(s);
      return s;
    },
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const c of clients) c.close();
      await server.close();
    },
  };
}

/**
 * s3rver 3.7 writes an object in place (truncate, then stream) and answers the PUT when
 * its input ends, not when the file is flushed. A GET or HEAD meanwhile sees a torn or
 * empty object: the dashboard's metrics follower read a half-written metrics.jsonl as a
 * rewrite, and a reader right after a PUT could see fewer bytes than were sent. Real S3
 * (and MinIO) replace an object atomically, after the PUT is durable; this gives the
 * embedded server the same behaviour: write a temporary file beside the object, wait for
 * it to be closed, then rename it (and its metadata files) over the object. Temporary
 * names do not end in s3rver's object suffix, so listings never show them.
 */
function atomicObjects(store: S3rverStore): void {
  let seq = 0;
  // A GET stats the path for its length, then opens the path: a rename between the two
  // pairs one version's length with another's bytes. Object files are never changed once
  // renamed into place, so a body whose opened file has the stated length is one whole
  // version; otherwise the GET is made again.
  const getObject = store.getObject.bind(store);
  const fstatAsync = promisify(fstat);
  store.getObject = async (bucket, key, options) => {
    for (let attempt = 1; ; attempt++) {
      const object = await getObject(bucket, key, options);
      const body = object?.content;
      // fs.ReadStream has its descriptor once opened (s3rver waits for 'open'); @types/node omits it.
      const fd = body instanceof ReadStream ? (body as unknown as { fd?: unknown }).fd : undefined;
      if (typeof fd !== 'number') return object;
      const { size } = await fstatAsync(fd);
      if (size === Number(object!.metadata['content-length']) || attempt === 50) return object;
      (body as ReadStream).destroy();
    }
  };
  store.putObject = async (object: S3rverObject): Promise<{ size: number; md5: string }> => {
    const { bucket, key } = object;
    const path = store.getResourcePath(bucket, key, 'object');
    await mkdir(dirname(path), { recursive: true });
    // A sibling key for the metadata files: s3rver's own putMetadata writes them (it
    // decides which headers are kept), then they are renamed into place.
    const tmpKey = `${key}.${process.pid}.${++seq}.${randomBytes(4).toString('hex')}.tmp`;
    const tmp = `${store.getResourcePath(bucket, tmpKey, 'object')}.tmp`;
    const md5 = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    const renames: [string, string][] = [
      [store.getResourcePath(bucket, tmpKey, 'object.md5'), store.getResourcePath(bucket, key, 'object.md5')],
      [store.getResourcePath(bucket, tmpKey, 'metadata.json'), store.getResourcePath(bucket, key, 'metadata.json')],
      [tmp, path],
    ];
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            md5.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        }),
        createWriteStream(tmp),
      );
      const digest = md5.digest('hex');
      await store.putMetadata(bucket, tmpKey, object.metadata, digest);
      for (const [from, to] of renames) await rename(from, to);
      return { size, md5: digest };
    } catch (err) {
      await Promise.all(renames.map(([from]) => rm(from, { force: true })));
      throw err;
    }
  };
}
