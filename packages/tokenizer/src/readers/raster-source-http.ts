// An http(s):// raster as a RasterSource, read by HTTP range requests
// (`Range: bytes=a-b`, answered 206). Opening asks HEAD for the size and the
// validators (ETag, Last-Modified) that key the block cache; servers that
// refuse HEAD (URLs presigned for GET only) are asked a one-byte range instead.
//
// A server that ignores Range (answers 200 with the whole file) is tolerated
// for files up to ATOMIZER_NO_RANGE_MAX_MB (default 512): the body it sends is
// the whole file anyway, so it is kept in memory and every later read is
// served from it, with one warning naming the URL. Larger files are refused:
// re-downloading them for every window would be slower than a local copy, and
// holding them would break predict's memory bound. Transient failures (network
// errors, 5xx, a body cut short) are retried twice; every error is one line
// naming the URL (credentials and signatures left out).

import type { RasterSource } from './raster-source.js';
import { displayLocation } from './remote-location.js';

export interface HttpSourceOptions {
  /** Where the no-range warning goes. Default: stderr. */
  warn?: (message: string) => void;
  /** Per-request timeout in ms. Default ATOMIZER_HTTP_TIMEOUT_S (60 s). */
  timeoutMs?: number;
  /** Largest file read whole from a server without range support, bytes. Default ATOMIZER_NO_RANGE_MAX_MB (512 MiB). */
  noRangeMaxBytes?: number;
}

const ATTEMPTS = 3;
const envNumber = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return process.env[name] !== undefined && process.env[name] !== '' && Number.isFinite(v) && v >= 0 ? v : fallback;
};

/** An error not worth retrying (4xx, refused no-range file). */
class PermanentError extends Error {}

function networkError(url: string, err: unknown): Error {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const name = displayLocation(url);
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return new Error(`${name}: no answer within the timeout; check the server, or raise ATOMIZER_HTTP_TIMEOUT_S`);
  // The cause's message may quote the URL: never let it carry credentials.
  const why = (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)).split(url).join(name).split('\n')[0];
  return new Error(`${name}: cannot reach the server (${why}); check the host name, the port and the network`);
}

/** The URL to fetch and its headers: user:password moved into a Basic Authorization header (fetch refuses them in the URL). */
function requestTarget(url: string): { href: string; headers: Record<string, string> } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${displayLocation(url)}: not a valid URL`);
  }
  if (u.username === '' && u.password === '') return { href: url, headers: {} };
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  return { href: u.toString(), headers: { authorization: `Basic ${auth}` } };
}

function statusError(url: string, res: Response): Error {
  const what = `${displayLocation(url)}: HTTP ${res.status}${res.statusText !== '' ? ` ${res.statusText}` : ''}`;
  if (res.status === 404 || res.status === 410) return new PermanentError(`${what}; check the URL (no such file on the server)`);
  if (res.status === 401 || res.status === 403)
    return new PermanentError(`${what}; the server refuses access: use a public or presigned URL`);
  if (res.status === 416)
    return new PermanentError(`${what}; the server refused the byte range: the file may have changed while being read`);
  if (res.status < 500) return new PermanentError(`${what}; check the URL`);
  return new Error(`${what}; the server failed, try again later`);
}

async function withRetries<T>(what: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      return await what();
    } catch (err) {
      if (err instanceof PermanentError) throw new Error(err.message);
      last = err;
      if (attempt + 1 < ATTEMPTS) await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
  throw last;
}

export async function openHttpSource(url: string, opts: HttpSourceOptions = {}): Promise<RasterSource> {
  const timeoutMs = opts.timeoutMs ?? envNumber('ATOMIZER_HTTP_TIMEOUT_S', 60) * 1000;
  const noRangeMax = opts.noRangeMaxBytes ?? envNumber('ATOMIZER_NO_RANGE_MAX_MB', 512) * 1024 * 1024;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  const name = displayLocation(url);
  const target = requestTarget(url);
  const request = async (init: { method?: string; headers?: Record<string, string> }): Promise<Response> => {
    try {
      return await fetch(target.href, { ...init, headers: { ...target.headers, ...init.headers }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw networkError(url, err);
    }
  };

  // Size and validators: HEAD, else a one-byte range.
  const { size, version } = await withRetries(async () => {
    let res = await request({ method: 'HEAD' });
    if (res.status === 403 || res.status === 405 || res.status === 501) {
      res = await request({ headers: { Range: 'bytes=0-0' } });
      await res.body?.cancel();
    }
    if (!res.ok) throw statusError(url, res);
    const total =
      /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? (res.status === 200 ? res.headers.get('content-length') : null);
    if (total === null || total === undefined || !/^\d+$/.test(total)) {
      throw new PermanentError(
        `${name}: the server does not say the file's size (no Content-Length); it cannot be read by ranges: download it and give the local path`,
      );
    }
    const validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? '';
    return { size: Number(total), version: `${url}\n${validator}\n${total}` };
  });

  let whole: Uint8Array | undefined;
  let wholeRead: Promise<Uint8Array> | undefined;

  const readBody = async (res: Response, expected: number, offset: number): Promise<Uint8Array> => {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new Error(
        `${name}: the connection dropped while reading ${expected} bytes at offset ${offset} (${(err as Error).message}); try again, or check the server`,
      );
    }
    if (bytes.length < expected) {
      throw new Error(
        `${name}: the connection dropped after ${bytes.length} of ${expected} bytes at offset ${offset}; try again, or check the server`,
      );
    }
    return bytes;
  };

  const source: RasterSource = {
    location: url,
    size,
    version,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      if (end <= offset) return new Uint8Array(0);
      if (whole !== undefined) return whole.subarray(offset, end);
      if (wholeRead !== undefined) return (await wholeRead).subarray(offset, end);
      return withRetries(async () => {
        const res = await request({ headers: { Range: `bytes=${offset}-${end - 1}` } });
        if (res.status === 200) {
          // No range support: the body is the whole file.
          if (size > noRangeMax) {
            await res.body?.cancel();
            throw new PermanentError(
              `${name}: the server ignores HTTP range requests and the file has ${size} bytes (more than ATOMIZER_NO_RANGE_MAX_MB); download it and give the local path, or serve it from a server with range support`,
            );
          }
          if (wholeRead === undefined) {
            warn(`${name}: the server ignores HTTP range requests; reading the whole file (${size} bytes) once and keeping it in memory`);
            wholeRead = readBody(res, size, 0).then(
              (b) => (whole = b),
              (err: unknown) => {
                wholeRead = undefined;
                throw err;
              },
            );
          } else await res.body?.cancel();
          return (await wholeRead).subarray(offset, end);
        }
        if (res.status !== 206) {
          await res.body?.cancel();
          throw statusError(url, res);
        }
        const start = /bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
        if (start !== undefined && Number(start) !== offset) {
          await res.body?.cancel();
          throw new PermanentError(
            `${name}: asked for bytes from ${offset}, the server sent bytes from ${start}; the server mishandles ranges`,
          );
        }
        return (await readBody(res, end - offset, offset)).subarray(0, end - offset);
      });
    },
    async close() {
      whole = undefined;
    },
  };
  return source;
}
