import { fileURLToPath } from 'node:url';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import type { OutageGuardOptions } from './outage.js';
import { OutageGuard } from './outage.js';
import { ResilientStore } from './resilient-store.js';
import type { S3ConnectionOptions } from './s3-store.js';

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

export interface OpenStoreOptions extends S3ConnectionOptions {
  /**
   * How an S3 store rides out outages (budget from ATOMIZER_OUTAGE_BUDGET by default,
   * lines to stderr); false: fail on the first connection error.
   */
  outage?: Omit<OutageGuardOptions, 'what'> | false;
}

/**
 * Open the store a location names: 's3://bucket/prefix' -> S3Store (endpoint and
 * credentials from `opts` or the AWS_* environment) behind a ResilientStore that rides
 * out outages; 'file:///dir' or a path -> LocalStore (a local disk has no outages to wait
 * out: its errors are reported at once).
 *
 * The S3 module (and with it the AWS SDK) is imported here, on the first s3:// location,
 * not when the package is: a process that only reads folders, or only imports the
 * contract (the model, the tokenizer), never loads it.
 */
export async function openStore(location: string, opts: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (typeof location !== 'string' || location.trim() === '') {
    throw new Error('store location is empty: expected s3://bucket/prefix or a folder path');
  }
  const s3 = parseS3Location(location);
  if (s3 !== undefined) {
    const { outage, ...connection } = opts;
    const { S3Store } = await import('./s3-store.js');
    const store = new S3Store({ ...connection, bucket: s3.bucket, prefix: s3.prefix });
    if (outage === false) return store;
    return new ResilientStore(store, new OutageGuard({ ...outage, what: `the store ${store.describe()}` }));
  }
  if (/^file:/i.test(location)) return new LocalStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`store location ${JSON.stringify(location)}: unsupported scheme (expected s3://, file:// or a folder path)`);
  }
  return new LocalStore(location);
}
