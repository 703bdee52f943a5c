import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { S3Credentials } from './s3-store.js';
import { S3Store } from './s3-store.js';

// s3rver 3.x is CommonJS and ships no typings. Loaded through require with the few members
// used typed here, rather than an ambient module declaration, which every package that
// compiles this file from source would also need.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
  configureBuckets: { name: string; configs: (string | Buffer)[] }[];
}) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

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
