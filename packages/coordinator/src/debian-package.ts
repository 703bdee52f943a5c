import { spawnSync } from 'node:child_process';

// A program the demo or the tests need from Debian's packages (redis-server,
// chromium): found, else installed when this process may (root with apt-get),
// else an error that gives the exact command to run.

export interface DebianProgram {
  /** Debian package that provides it. */
  pkg: string;
  /** Where the program is now, or undefined. */
  find: () => string | undefined;
  /** What a user who cannot install it should do instead (appended to the error). */
  hint: string;
}

export function ensureDebianProgram(program: DebianProgram, say: (line: string) => void): string {
  const found = program.find();
  if (found !== undefined) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(
      `${program.pkg} was not found and cannot be installed from here (${isRoot ? 'no apt-get' : 'not root'}); ${program.hint}`,
    );
  }
  say(`${program.pkg} is missing: installing Debian's ${program.pkg} (apt-get install -y ${program.pkg}) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', program.pkg], { stdio: 'inherit', env }) : update;
  const after = program.find();
  if (install.status !== 0 || after === undefined) throw new Error(`installing ${program.pkg} failed; ${program.hint}`);
  return after;
}
