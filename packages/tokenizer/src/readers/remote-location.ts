// Where imagery lives: a local path, a file:// URL, an http(s):// URL or an
// s3://bucket/key URL. Helpers to tell them apart, to resolve an href against
// the document it came from (a STAC Item's own URL or path), and to name a URL
// in messages without what must not be printed (user:password, signatures and
// tokens in the query string of presigned URLs).

import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LocationKind = 'file' | 'http' | 's3';

/** The kind of a location; an unknown scheme is an Error naming it. */
export function locationKind(location: string): LocationKind {
  if (/^https?:\/\//i.test(location)) return 'http';
  if (/^s3:\/\//i.test(location)) return 's3';
  if (/^file:\/\//i.test(location)) return 'file';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`${displayLocation(location)}: unsupported scheme; expected a local path, file://, http(s):// or s3://bucket/key`);
  }
  return 'file';
}

/** Whether a location is read over the network (http, https, s3). */
export const isRemote = (location: string): boolean => /^(https?|s3):\/\//i.test(location);

/** The local path of a file location (file:// URLs decoded). */
export const localPathOf = (location: string): string => (/^file:\/\//i.test(location) ? fileURLToPath(location) : location);

const SECRET_PARAM = /sig|signature|token|credential|secret|password|key|auth/i;

/** A location fit for messages: no user:password, secret-looking query values replaced by '***'. */
export function displayLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location.replace(/\/\/[^/@]*@/, '//').replace(/\?.*$/, '?...');
  }
  url.username = '';
  url.password = '';
  for (const k of [...url.searchParams.keys()]) if (SECRET_PARAM.test(k)) url.searchParams.set(k, '***');
  return url.toString().replace(/%2A%2A%2A/g, '***');
}

/**
 * Resolve an asset href against the location of the document holding it:
 * absolute URLs and absolute paths stay; a relative href is relative to the
 * document's URL (http, s3) or to its file's folder.
 */
export function resolveHref(base: string, href: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) return href;
  if (isRemote(base)) return new URL(href, base).toString();
  if (isAbsolute(href)) return href;
  return resolve(dirname(localPathOf(base)), href);
}
