import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { killWithParent, processAlive } from './child-guard.js';

const TSX = createRequire(import.meta.url).resolve('tsx');
const REDIS_TS = fileURLToPath(new URL('./redis.ts', import.meta.url));

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('killWithParent', () => {
  it('stops an embedded redis-server and removes its folder when its parent is SIGKILLed', async () => {
    // A real parent process that starts redis-server, prints its pid and folder, then idles.
    const script =
      `const m = await import(${JSON.stringify(REDIS_TS)});` +
      `const r = await m.startEmbeddedRedis();` +
      `console.log(JSON.stringify({ pid: r.process.pid, args: r.process.spawnargs }));` +
      `setInterval(() => undefined, 1000);`;
    const parent = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).once('line', resolve);
      parent.once('exit', (code) => reject(new Error(`parent exited with ${code} before starting redis-server`)));
    });
    const { pid, args } = JSON.parse(line) as { pid: number; args: string[] };
    const dir = args[args.indexOf('--dir') + 1]!;
    try {
      expect(processAlive(pid)).toBe(true);
      expect(existsSync(dir)).toBe(true);
      parent.kill('SIGKILL');
      expect(await until(() => !processAlive(pid), 10_000)).toBe(true);
      expect(await until(() => !existsSync(dir), 5_000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('leaves the child alone once released, and a released guard keeps nothing running', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const guard = killWithParent(child, { graceMs: 100 });
    guard.release();
    expect(await until(() => guard.watchdog.exitCode !== null || guard.watchdog.signalCode !== null, 5_000)).toBe(true);
    expect(processAlive(child.pid!)).toBe(true);
    child.kill('SIGKILL');
  });
});
