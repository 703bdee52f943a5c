// Test support: a real loopback HTTP server (node:http) serving files from
// memory the way a static file server or an object store's HTTP endpoint does:
// HEAD, GET, `Range: bytes=a-b` answered 206 with Content-Range, an ETag, 404
// for unknown paths. Paths under /norange/ ignore Range (answer 200 with the
// whole file), as some servers do; paths under /drop/ send half of every
// ranged body and then cut the connection. It counts the body bytes it sends, so tests
// can check how much of a file a read fetched.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RangeServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Serve `bytes` at `path` (leading '/'). */
  put(path: string, bytes: Uint8Array, contentType?: string): void;
  /** Body bytes sent so far (all paths). */
  bytesServed(): number;
  /** Requests answered so far, by method and Range header. */
  requests: Array<{ method: string; path: string; range?: string }>;
  close(): Promise<void>;
}

export async function startRangeServer(): Promise<RangeServer> {
  const files = new Map<string, { bytes: Uint8Array; type: string }>();
  let served = 0;
  const requests: RangeServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const range = req.headers.range;
    requests.push({ method: req.method ?? 'GET', path, ...(range !== undefined ? { range } : {}) });
    const file = files.get(path.replace(/^\/(norange|drop)\//, '/'));
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const size = file.bytes.length;
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
    const body = file.bytes.subarray(start, end + 1);
    res.writeHead(status, {
      ...headers,
      'content-length': String(body.length),
      ...(honoursRange ? { 'accept-ranges': 'bytes' } : {}),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
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
      files.set(path, { bytes, type });
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
