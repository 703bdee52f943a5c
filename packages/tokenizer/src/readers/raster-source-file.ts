// A local file as a RasterSource: positional reads of an open descriptor.

import { open } from 'node:fs/promises';
import type { RasterSource } from './raster-source.js';
import { localPathOf } from './remote-location.js';

export async function openFileSource(location: string): Promise<RasterSource> {
  const path = localPathOf(location);
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
        if (bytesRead === 0) throw new Error(`${location}: file ended at byte ${offset + done} while reading ${n} bytes at ${offset}; was it truncated while being read?`);
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}
