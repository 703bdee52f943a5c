// An s3://bucket/key raster as a RasterSource, read through the project's
// ObjectStore (openStore: endpoint and credentials from the AWS_* environment
// or the options, outages ridden out as for the run store) by getRange.
// ObjectStore.head gives only the size, so the cache key is the URL and size.

import { isNotFoundError, openStore, parseS3Location, type ObjectStore, type OpenStoreOptions } from '@atomizer/protocol';
import type { RasterSource } from './raster-source.js';
import { displayLocation } from './remote-location.js';

export interface S3SourceOptions {
  /** How s3:// locations are opened (endpoint, credentials, outage budget). Default: the AWS_* environment. */
  s3?: OpenStoreOptions;
}

/** One line naming the URL, whatever the store said (its messages name the store, not the object's URL). */
function s3Error(url: string, what: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(
    `${displayLocation(url)}: ${what} failed (${msg.split('\n')[0]}); check the bucket, the key, AWS_ENDPOINT_URL and the credentials`,
  );
}

export async function openS3Source(url: string, opts: S3SourceOptions = {}): Promise<RasterSource> {
  const loc = parseS3Location(url);
  if (loc === undefined || loc.prefix === '') throw new Error(`${displayLocation(url)}: expected s3://bucket/key`);
  let store: ObjectStore;
  try {
    store = await openStore(`s3://${loc.bucket}`, opts.s3 ?? {});
  } catch (err) {
    throw s3Error(url, 'opening the bucket', err);
  }
  const closeStore = async () => {
    // A ResilientStore wraps the S3Store that owns the connections.
    const closable = store as unknown as { close?: () => void; inner?: { close?: () => void } };
    (closable.inner ?? closable).close?.();
  };
  const info = await store.head(loc.prefix).catch(async (err: unknown) => {
    await closeStore();
    throw s3Error(url, 'reading the object size', err);
  });
  if (info === undefined) {
    await closeStore();
    throw new Error(`${displayLocation(url)}: no such object; check the bucket and the key`);
  }
  const size = info.size;
  return {
    location: url,
    size,
    version: `${url}\n${size}`,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      if (end <= offset) return new Uint8Array(0);
      try {
        return await store.getRange(loc.prefix, offset, end);
      } catch (err) {
        if (isNotFoundError(err))
          throw new Error(`${displayLocation(url)}: the object disappeared while being read; check the bucket and the key`);
        throw s3Error(url, `reading bytes ${offset}-${end - 1}`, err);
      }
    },
    close: closeStore,
  };
}
