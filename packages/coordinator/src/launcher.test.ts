import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { processAlive } from '@atomizer/protocol';
import { startEmbeddedRedis } from '@atomizer/protocol/redis';
import { describe, expect, it } from 'vitest';
import { Supervisor, workerSlots } from './launcher.js';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const LAUNCHER_TS = fileURLToPath(new URL('./launcher.ts', import.meta.url));

describe('workerSlots', () => {
  it('one worker per GPU, or N CPU workers; bad lists are refused', () => {
    expect(workerSlots({ gpus: '0,1,3' }, 'h')).toEqual([
      { id: 'h-gpu0', gpu: '0' },
      { id: 'h-gpu1', gpu: '1' },
      { id: 'h-gpu3', gpu: '3' },
    ]);
    expect(workerSlots({ workers: 2 }, 'h')).toEqual([{ id: 'h-cpu0' }, { id: 'h-cpu1' }]);
    expect(() => workerSlots({ gpus: '0,x' })).toThrow(/comma-separated GPU indices/);
    expect(() => workerSlots({ gpus: '1,1' })).toThrow(/lists a GPU twice/);
  });
});

describe('Supervisor', () => {
  it('restarts a worker that dies, with a growing backoff, logged; stop() ends it', async () => {
    const logs: string[] = [];
    const lines: string[] = [];
    // A real `atomizer worker` that cannot start (nothing answers on this Redis port): it exits 1 each time.
    const sup = new Supervisor({
      slots: [{ id: 'w0', gpu: '3' }],
      workerArgs: ['--redis', 'redis://127.0.0.1:1', '--s3', '/tmp/atomizer-no-store'],
      backoffMs: 200,
      maxBackoffMs: 400,
      log: (m) => logs.push(m),
      output: (id, line) => lines.push(`${id}: ${line}`),
    });
    sup.start();
    const deadline = Date.now() + 90_000;
    while (sup.restarts < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await sup.stop(5000);
    expect(sup.restarts).toBeGreaterThanOrEqual(2);
    expect(logs[0]).toMatch(/worker w0 started \(pid \d+, GPU 3\)/);
    expect(logs.find((l) => /exited \(code 1\); restart 1 in 0\.2 s/.test(l))).toBeDefined();
    expect(logs.find((l) => /restart 2 in 0\.4 s/.test(l))).toBeDefined();
    expect(lines.join('\n')).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 does not answer/);
    expect(sup.pids).toEqual([]);
  }, 120_000);
});

describe('Supervisor under a parent that dies', () => {
  it('stops its workers when the process that started them is SIGKILLed', async () => {
    const redis = await startEmbeddedRedis();
    const store = await mkdtemp(join(tmpdir(), 'atomizer-launcher-store-'));
    // A real parent process (as `atomizer launch` or the demo) supervising one real worker
    // that connects to Redis and waits for jobs; it prints the worker's pid and idles.
    const script =
      `const { Supervisor } = await import(${JSON.stringify(LAUNCHER_TS)});` +
      `const sup = new Supervisor({ slots: [{ id: 'orphan-check' }], workerArgs: ['--redis', ${JSON.stringify(redis.url)}, '--s3', ${JSON.stringify(store)}],` +
      ` log: (m) => { const pid = /started \\(pid (\\d+)/.exec(m)?.[1]; if (pid) console.log(pid); }, output: () => undefined });` +
      `sup.start(); setInterval(() => undefined, 1000);`;
    const parent = spawn(process.execPath, ['--conditions=@atomizer/source', '--import', TSX, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let workerPid = 0;
    try {
      workerPid = Number(
        await new Promise<string>((resolve, reject) => {
          createInterface({ input: parent.stdout! }).once('line', resolve);
          parent.once('exit', (code) => reject(new Error(`the parent exited with ${code} before starting its worker`)));
        }),
      );
      // Let the worker get past its start-up (it connects to Redis and waits for jobs).
      await new Promise((r) => setTimeout(r, 3000));
      expect(processAlive(workerPid)).toBe(true);
      parent.kill('SIGKILL');
      const deadline = Date.now() + 60_000;
      while (processAlive(workerPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(processAlive(workerPid)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
      if (workerPid > 0 && processAlive(workerPid)) process.kill(workerPid, 'SIGKILL');
      await redis.stop();
      await rm(store, { recursive: true, force: true });
    }
  }, 120_000);
});
