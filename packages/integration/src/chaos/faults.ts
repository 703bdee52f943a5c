import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmbeddedRedis } from '@atomizer/protocol/redis';
import { restartRedis, restartS3, sleep } from '../harness.js';
import { CHAOS_WORKERS, childPids, withTimeout, type Fault, type TrialContext } from './trial.js';

// The faults of the chaos suite (issue 14). Each is injected into a real run; trial.ts
// checks that the run ends (unattended, or by --resume after stopping past the outage
// budget) with the weights and optimizer state of an uninterrupted run.

/** Outage budget of the coordinator in the past-the-budget fault, seconds. */
const SHORT_BUDGET_S = 4;

async function killAndRestartWorker(ctx: TrialContext, which: 'main' | 'compute'): Promise<boolean> {
  const w = await ctx.busyWorker();
  if (w === undefined) {
    ctx.notes.push(`no busy worker to kill (${which})`);
    return false;
  }
  if (which === 'main') {
    await w.kill('SIGKILL');
  } else {
    const pids = childPids(w.pid);
    if (pids.length === 0) {
      ctx.notes.push(`worker ${w.id} has no compute process to kill`);
      return false;
    }
    for (const pid of pids) process.kill(pid, 'SIGKILL');
  }
  ctx.notes.push(`killed the ${which} process of ${w.id}`);
  // A supervisor (atomizer launch) restarts a dead worker; a worker restarts its own compute process.
  if (which === 'main') await ctx.startWorker(w.id);
  return true;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export const FAULTS: Fault[] = [
  {
    name: 'redis-restart',
    description: 'redis-server stopped at round 2, down 5 s, started again empty (no persistence)',
    async inject(ctx) {
      await ctx.untilRound(2);
      await restartRedis(ctx.cluster, 5000);
    },
  },
  {
    name: 'redis-restart-persistent',
    description: 'redis-server with an append-only file, stopped at round 2, down 5 s, started again on its data',
    async prepare(ctx) {
      // The cluster's Redis keeps nothing: swap in one that persists before the run starts.
      const dir = join(ctx.cluster.dir, `redis-aof-${ctx.run}`);
      await mkdir(dir, { recursive: true });
      ctx.scratch.set('aof', dir);
      const port = ctx.cluster.redis.port;
      await ctx.cluster.redis.stop();
      ctx.cluster.redis = await startEmbeddedRedis({ port, persistDir: dir });
    },
    async inject(ctx) {
      await ctx.untilRound(2);
      const port = ctx.cluster.redis.port;
      await ctx.cluster.redis.stop();
      await sleep(5000);
      ctx.cluster.redis = await startEmbeddedRedis({ port, persistDir: ctx.scratch.get('aof')! });
    },
    async cleanup(ctx) {
      const port = ctx.cluster.redis.port;
      await ctx.cluster.redis.stop();
      ctx.cluster.redis = await startEmbeddedRedis({ port });
    },
  },
  {
    name: 's3-down-10s',
    description: 'the S3 server stopped at round 2 for 10 s',
    async inject(ctx) {
      await ctx.untilRound(2);
      await restartS3(ctx.cluster, 10_000);
    },
  },
  {
    name: 's3-down-60s',
    description: 'the S3 server stopped at round 2 for 60 s',
    async inject(ctx) {
      await ctx.untilRound(2);
      await restartS3(ctx.cluster, 60_000);
    },
  },
  {
    name: 'redis-past-budget',
    description: `Redis down 15 s with a coordinator outage budget of ${SHORT_BUDGET_S} s: it must stop with status failed within the budget + 30 s, then --resume ends the run`,
    coordinatorArgs: ['--outage-budget', String(SHORT_BUDGET_S)],
    async inject(ctx) {
      await ctx.untilRound(2);
      const port = ctx.cluster.redis.port;
      await ctx.cluster.redis.stop();
      const down = Date.now();
      const code = await withTimeout(ctx.coordinator.exited, (SHORT_BUDGET_S + 30) * 1000, 'the coordinator past its outage budget');
      const st = await ctx.status();
      ctx.notes.push(
        `coordinator exited ${code} after ${((Date.now() - down) / 1000).toFixed(1)} s; status ${st?.state}: ${st?.message ?? ''}`,
      );
      if (code === 0 || st?.state !== 'failed' || !/--resume/.test(st.message ?? ''))
        throw new Error(`expected a failed status naming --resume, got exit ${code}, ${st?.state}: ${st?.message}`);
      await sleep(Math.max(0, 15_000 - (Date.now() - down)));
      ctx.cluster.redis = await startEmbeddedRedis({ port });
      ctx.coordinator = ctx.startCoordinator(['--resume']);
    },
  },
  {
    name: 'redis-paused',
    description: `redis-server paused (SIGSTOP: connections accepted, nothing answered) past a coordinator outage budget of ${SHORT_BUDGET_S} s: it must stop with status failed within the budget + 30 s; then Redis resumes (SIGCONT) and --resume ends the run`,
    coordinatorArgs: ['--outage-budget', String(SHORT_BUDGET_S)],
    async inject(ctx) {
      await ctx.untilRound(2);
      const redis = ctx.cluster.redis.process;
      redis.kill('SIGSTOP');
      const paused = Date.now();
      try {
        const code = await withTimeout(
          ctx.coordinator.exited,
          (SHORT_BUDGET_S + 30) * 1000,
          'the coordinator with Redis paused past its budget',
        );
        const st = await ctx.status();
        ctx.notes.push(`coordinator exited ${code} after ${((Date.now() - paused) / 1000).toFixed(1)} s; status ${st?.state}`);
        if (code === 0 || st?.state !== 'failed') throw new Error(`expected a failed run, got exit ${code}, ${st?.state}: ${st?.message}`);
      } finally {
        redis.kill('SIGCONT');
      }
      ctx.coordinator = ctx.startCoordinator(['--resume']);
    },
  },
  {
    name: 'worker-past-budget',
    description:
      'workers with an outage budget of 3 s, Redis down 12 s: each worker exits 1 naming the outage; restarted (as launch would), they and the coordinator (default budget) end the run',
    async prepare(ctx) {
      for (const id of CHAOS_WORKERS) {
        await ctx.workers.get(id)?.kill('SIGTERM');
        await ctx.startWorker(id, ['--outage-budget', '3']);
      }
    },
    async inject(ctx) {
      await ctx.untilRound(2);
      const port = ctx.cluster.redis.port;
      await ctx.cluster.redis.stop();
      const down = Date.now();
      const codes = await withTimeout(
        Promise.all(CHAOS_WORKERS.map((id) => ctx.workers.get(id)!.exited)),
        40_000,
        'the workers past their outage budget',
      );
      ctx.notes.push(`workers exited ${codes.join(', ')} after ${((Date.now() - down) / 1000).toFixed(1)} s`);
      const said = CHAOS_WORKERS.every((id) => /past the outage budget/.test(ctx.workers.get(id)!.output()));
      if (codes.some((c) => c !== 1) || !said)
        throw new Error(`expected every worker to exit 1 naming the outage budget, got ${codes.join(', ')}`);
      await sleep(Math.max(0, 12_000 - (Date.now() - down)));
      ctx.cluster.redis = await startEmbeddedRedis({ port });
      for (const id of CHAOS_WORKERS) await ctx.startWorker(id);
    },
  },
  {
    name: 'coordinator-kill-resume',
    description: 'the coordinator SIGKILLed after round 3, resumed with one worker instead of two',
    async inject(ctx) {
      await ctx.untilRound(3);
      await ctx.coordinator.kill('SIGKILL');
      await ctx.workers.get(CHAOS_WORKERS[1]!)?.kill('SIGTERM');
      ctx.coordinator = ctx.startCoordinator(['--resume']);
    },
  },
  {
    name: 'worker-kill-x3',
    description: 'a busy worker SIGKILLed three times: its main process, then a compute process, then a main process again',
    // Long enough for three kills, each followed by a restart (about 10 s) of the killed worker.
    rounds: 40,
    async inject(ctx) {
      for (const which of ['main', 'compute', 'main'] as const) {
        await killAndRestartWorker(ctx, which);
        await sleep(300);
      }
    },
  },
  {
    name: 'second-coordinator',
    description: 'a second `train --resume` of the same run while the first runs: refused; the first ends the run',
    // Long enough that the first is still running when the second has started and watched its
    // lease, on a quiet machine too (30 rounds were done in under 10 s there: 3 of 10 trials
    // saw the first finish and release the run, which the second then rightly took).
    rounds: 100,
    async inject(ctx) {
      await ctx.untilRound(1);
      const second = ctx.startCoordinator(['--resume']);
      const code = await withTimeout(second.exited, 90_000, 'the second coordinator');
      const refused = code !== 0 && /being trained by coordinator/.test(second.output());
      ctx.notes.push(`second coordinator exited ${code}${refused ? ', refused' : ''}`);
      if (!refused) throw new Error(`the second coordinator was not refused (exit ${code}):\n${second.output().slice(-2000)}`);
    },
  },
  {
    name: 'full-cache-disk',
    description: 'one worker whose shard cache is a full 1 MiB tmpfs',
    unavailable: () => (isRoot() ? undefined : 'mounting a tmpfs needs root'),
    async prepare(ctx) {
      const id = CHAOS_WORKERS[1]!;
      const dir = join(ctx.cluster.dir, `full-cache-${ctx.run}`);
      await mkdir(dir, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
      ctx.scratch.set('mount', dir);
      // Filled up to the last block: the first shard written there hits ENOSPC.
      await writeFile(join(dir, 'filler'), new Uint8Array(1024 * 1024)).catch(() => undefined);
      await ctx.workers.get(id)?.kill('SIGTERM');
      await ctx.startWorker(id, ['--cache-dir', join(dir, 'cache')]);
    },
    async inject(ctx) {
      // The run must end with the full-disk worker having said so (once), not silently.
      await ctx.coordinator.exited;
      const out = ctx.workers.get(CHAOS_WORKERS[1]!)?.output() ?? '';
      const warnings = out.split('\n').filter((l) => /shard cache .* is full/.test(l)).length;
      ctx.notes.push(`full-disk warnings from the worker: ${warnings}`);
      if (warnings !== 1) throw new Error(`expected one full-disk warning from the worker, saw ${warnings}`);
    },
    async cleanup(ctx) {
      const w = ctx.workers.get(CHAOS_WORKERS[1]!);
      await w?.kill('SIGTERM');
      const dir = ctx.scratch.get('mount');
      if (dir !== undefined) execFileSync('umount', [dir]);
    },
  },
];
