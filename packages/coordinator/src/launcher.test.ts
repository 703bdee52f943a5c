import { describe, expect, it } from 'vitest';
import { Supervisor, workerSlots } from './launcher.js';

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
