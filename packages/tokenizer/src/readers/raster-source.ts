// One way to read the bytes of a raster wherever it lives: a local file, an
// http(s):// URL (HTTP range requests) or an s3://bucket/key object (the
// project's ObjectStore getRange). Remote sources read through the block cache
// (block-cache.ts) so a second read of the same bytes fetches nothing. The
// GeoTIFF readers open every file through here (geotiff-source.ts).

import { BlockCache, defaultBlockCache } from './block-cache.js';
import { cachedSource } from './cached-source.js';
import { openFileSource } from './raster-source-file.js';
import { openHttpSource, type HttpSourceOptions } from './raster-source-http.js';
import { openS3Source, type S3SourceOptions } from './raster-source-s3.js';
import { locationKind } from './remote-location.js';

export interface RasterSource {
  /** The location as given (a path or URL); name it in messages through displayLocation. */
  location: string;
  /** Size in bytes. */
  size: number;
  /**
   * Identity of this version of the bytes for caching (URL plus ETag /
   * Last-Modified / size); undefined for local files, which are not cached.
   */
  version?: string;
  /** Bytes [offset, offset + length) clamped to the end of the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface RasterSourceOptions extends HttpSourceOptions, S3SourceOptions {
  /** The block cache of remote reads; false: none. Default: the process's (ATOMIZER_CACHE_DIR, ATOMIZER_CACHE_MAX_MB). */
  cache?: BlockCache | false;
  /** Local files: read the file at once (every byte is going to be decoded). Default false (reads by ranges). */
  wholeFile?: boolean;
}

/** Open a raster's bytes at a local path, file://, http(s):// or s3:// location; errors are one line naming it. */
export async function openRasterSource(location: string, opts: RasterSourceOptions = {}): Promise<RasterSource> {
  const kind = locationKind(location);
  if (kind === 'file') return openFileSource(location, { whole: opts.wholeFile === true });
  const raw = kind === 'http' ? await openHttpSource(location, opts) : await openS3Source(location, opts);
  const cache = opts.cache === undefined ? defaultBlockCache() : opts.cache;
  return cache === false || raw.version === undefined ? raw : cachedSource(raw, cache);
}

/** The whole content of a location (a STAC Item's JSON): read once, not cached. */
export async function readLocationBytes(location: string, opts: RasterSourceOptions = {}): Promise<Uint8Array> {
  const source = await openRasterSource(location, { ...opts, cache: false });
  try {
    return await source.read(0, source.size);
  } finally {
    await source.close();
  }
}
