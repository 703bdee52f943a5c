// A local file as a RasterSource: positional reads of an open descriptor, or
// (`whole`) the file read at once and served from memory, which is faster when
// every byte will be decoded anyway.

import { open, readFile } from 'node:fs/promises';
import type { RasterSource } from './raster-source.js';
import { localPathOf } from './remote-location.js';

export async function openFileSource(location: string, opts: { whole?: boolean } = {}): Promise<RasterSource> {
  const path = localPathOf(location);
  if (opts.whole === true) {
    const buf = await readFile(path).catch((err: Error) => {
      throw new Error(`${location}: cannot read (${err.message})`);
    });
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    return {
      location,
      size: bytes.length,
      read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
      close: async () => undefined,
    };
  }
  const handle = await open(path, 'r').catch((err: Error) => {
    throw new Error(`${location}: cannot read (${err.message})`);
  });
  const { size } = await handle.stat();
  return {
    location,
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const { bytesRead } = await handle.read(out, done, n - done, offset + done);
        if (bytesRead === 0)
          throw new Error(
            `${location}: file ended at byte ${offset + done} while reading ${n} bytes at ${offset}; was it truncated while being read?`,
          );
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}
