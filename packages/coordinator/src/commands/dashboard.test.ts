import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStore } from '@atomizer/protocol';
import { connectRedis, freePort, startEmbeddedRedis, type EmbeddedRedis } from '@atomizer/protocol/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SampleRun } from '../dashboard/testing/sample-run.js';
import { runCli } from './run-cli.js';

// `atomizer dashboard` as a user runs it (the real launcher, a child process),
// against a real redis-server child and a store folder.

let redisServer: EmbeddedRedis;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-dashboard-cli-'));
  redisServer = await startEmbeddedRedis();
});
afterAll(async () => {
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
});

const BIN = fileURLToPath(new URL('../../bin/atomizer.js', import.meta.url));

describe('atomizer dashboard', () => {
  it('stops with a clear error when Redis does not answer, or when asked to bind beyond loopback without a token', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const r = await runCli(['dashboard', '--redis', dead, '--s3', join(dir, 'store')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+\/? does not answer/);

    const open = await runCli(['dashboard', '--redis', redisServer.url, '--s3', join(dir, 'store'), '--host', '0.0.0.0'], {
      ATOMIZER_DASHBOARD_TOKEN: '',
    });
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/refusing to serve the dashboard on 0\.0\.0\.0 without a token/);
  });

  it('serves the newest run, prints its address, and stops cleanly on Ctrl-C', async () => {
    const storeDir = join(dir, 'live');
    const redis = connectRedis(redisServer.url);
    const run = new SampleRun({ store: new LocalStore(storeDir), redis, run: 'cli-run', rounds: 4 });
    await run.begin();
    await run.advance();
    await redis.quit();

    const child = spawn(process.execPath, [BIN, 'dashboard', '--redis', redisServer.url, '--s3', storeDir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      void exited.then((code) => reject(new Error(`dashboard exited (${code}) before printing its address:\n${stderr}`)));
    });
    try {
      const status = (await (await fetch(`${url}api/status`)).json()) as { run: string; progress: { round: number } };
      expect(status.run).toBe('cli-run');
      expect(status.progress.round).toBe(1);
      expect(stderr).toContain('dashboard for run cli-run');
      expect(stderr).toContain('bull-board read-only');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGINT: stopping the dashboard');
  });
});
