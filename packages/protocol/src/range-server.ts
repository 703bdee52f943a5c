// Test and benchmark support (as embedded-s3.ts): a real loopback HTTP server (node:http) serving files from
// memory the way a static file server or an object store's HTTP endpoint does:
// HEAD, GET, `Range: bytes=a-b` answered 206 with Content-Range, an ETag, 404
// for unknown paths. Paths under /norange/ ignore Range (answer 200 with the
// whole file), as some servers do; paths under /drop/ send half of every
// ranged body and then cut the connection. It counts the body bytes it sends, so tests
// can check how much of a file a read fetched. Files too large for memory (the
// benchmarks' scenes) are served from disk, each range read when asked for.

import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RangeServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Serve `bytes` at `path` (leading '/'). */
  put(path: string, bytes: Uint8Array, contentType?: string): void;
  /** Serve the file at `file` (read from disk per request) at `path`. */
  putFile(path: string, file: string, size: number, contentType?: string): void;
  /** Body bytes sent so far (all paths). */
  bytesServed(): number;
  /** Requests answered so far, by method and Range header. */
  requests: Array<{ method: string; path: string; range?: string }>;
  close(): Promise<void>;
}

export async function startRangeServer(): Promise<RangeServer> {
  const files = new Map<string, { size: number; read(start: number, end: number): Promise<Uint8Array>; type: string }>();
  let served = 0;
  const requests: RangeServer['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const range = req.headers.range;
    requests.push({ method: req.method ?? 'GET', path, ...(range !== undefined ? { range } : {}) });
    const file = files.get(path.replace(/^\/(norange|drop)\//, '/'));
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const size = file.size;
    const headers = { 'content-type': file.type, etag: `"${size}-v1"` };
    const honoursRange = !path.startsWith('/norange/');
    const m = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (honoursRange && m !== null) {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]));
      if (start >= size || end < start) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
    }
    res.writeHead(status, {
      ...headers,
      'content-length': String(end + 1 - start),
      ...(honoursRange ? { 'accept-ranges': 'bytes' } : {}),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const body = await file.read(start, end + 1);
    if (path.startsWith('/drop/') && status === 206 && body.length > 1) {
      const half = body.subarray(0, Math.floor(body.length / 2));
      served += half.length;
      res.write(half, () => res.destroy());
      return;
    }
    served += body.length;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    put(path, bytes, type = 'image/tiff') {
      files.set(path, { size: bytes.length, read: async (a, b) => bytes.subarray(a, b), type });
    },
    putFile(path, file, size, type = 'image/tiff') {
      const read = async (a: number, b: number): Promise<Uint8Array> => {
        const fh = await open(file, 'r');
        try {
          const out = new Uint8Array(b - a);
          let at = 0;
          while (at < out.length) {
            const { bytesRead } = await fh.read(out, at, out.length - at, a + at);
            if (bytesRead === 0) break;
            at += bytesRead;
          }
          return out;
        } finally {
          await fh.close();
        }
      };
      files.set(path, { size, read, type });
    },
    bytesServed: () => served,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
