import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';
import type { S3Credentials } from './s3-store.js';
import { S3Store } from './s3-store.js';

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
