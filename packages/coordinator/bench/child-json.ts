// Benches that run their seeds in parallel (--jobs) start one child process of the
// same script per task; the child prints its result as JSON on its last stdout line.

import { spawn } from 'node:child_process';

/** Run `script` (this Node's flags, e.g. tsx's loader) with `args` in a child process; its last stdout line, parsed. `what` names it in errors. */
export function runChildJson<T>(script: string, args: readonly string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${what}: child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as T);
      } catch (err) {
        reject(new Error(`${what}: unreadable child output (${(err as Error).message})`));
      }
    });
  });
}
