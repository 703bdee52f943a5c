import { fileURLToPath } from 'node:url';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import type { S3ConnectionOptions } from './s3-store.js';
import { S3Store } from './s3-store.js';

export interface S3Location {
  bucket: string;
  prefix: string;
}

/** Split 's3://bucket/some/prefix/' into bucket and prefix (no leading/trailing '/'); undefined if not an s3 URL. */
export function parseS3Location(location: string): S3Location | undefined {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(location);
  if (m === null) return undefined;
  const bucket = m[1] ?? '';
  if (bucket === '') throw new Error(`store location ${JSON.stringify(location)}: missing bucket name (expected s3://bucket/prefix)`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket, prefix };
}

/**
 * Open the store a location names: 's3://bucket/prefix' -> S3Store (endpoint and
 * credentials from `opts` or the AWS_* environment), 'file:///dir' or a path -> LocalStore.
 */
export function openStore(location: string, opts: S3ConnectionOptions = {}): ObjectStore {
  if (typeof location !== 'string' || location.trim() === '') {
    throw new Error('store location is empty: expected s3://bucket/prefix or a folder path');
  }
  const s3 = parseS3Location(location);
  if (s3 !== undefined) return new S3Store({ ...opts, bucket: s3.bucket, prefix: s3.prefix });
  if (/^file:/i.test(location)) return new LocalStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`store location ${JSON.stringify(location)}: unsupported scheme (expected s3://, file:// or a folder path)`);
  }
  return new LocalStore(location);
}
