import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the bundled real imagery lives. The project reads it in place and never
 * copies it: `ATOMIZER_DATA` if set, else the first `shared/data` found beside
 * an ancestor of this package (the checkout sits next to `shared/`).
 */
export function sharedDataDir(): string {
  const fromEnv = process.env.ATOMIZER_DATA;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) {
      throw new Error(`ATOMIZER_DATA=${fromEnv} does not exist; point it at the folder holding bigearthnet_tiny/, statlog/ ...`);
    }
    return resolve(fromEnv);
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'shared', 'data');
    if (existsSync(join(candidate, 'README.md'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('Cannot find the bundled data folder (shared/data next to the checkout). Set ATOMIZER_DATA to its path.');
}

/** A path inside the bundled data folder. */
export function dataPath(...parts: string[]): string {
  return join(sharedDataDir(), ...parts);
}
