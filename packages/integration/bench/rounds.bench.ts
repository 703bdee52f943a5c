// Issue 4 figures: the round period (one round's end to the next), the slowest
// worker's compute time, the overhead between them (queueing, S3, aggregation,
// the coordinator's bookkeeping), bytes moved; samples per
// second with 1 and 2 workers and the 2-worker scaling efficiency. A real
// redis-server, s3rver (or, with --store folder, a folder every process opens
// directly), workers as OS processes, the coordinator in this process.
//
//   npx tsx --conditions=@atomizer/source packages/integration/bench/rounds.bench.ts [--rounds 20] [--mode sync|local] [--local-steps 4] [--store s3|folder] [--pin] [--json]
//
// --pin: the cluster layout in small (issue 13): the coordinator, the S3 server and Redis
// on core 0, one worker (and its compute process) on core 1; only the 1-worker row is run.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BullMQExecutor, train } from '@atomizer/coordinator';
import { parseRunConfig, sha256Hex, type JobEvent, type RoundEvent } from '@atomizer/protocol';
import { metricsOf, queuesOf, startCluster, startWorkers, STATLOG_SOURCE } from '../src/harness.js';
import { checkTwoCores, pinServices, startOnWorkerCore } from './cpu-pinning.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    slices: { type: 'string', default: '2' },
    'slice-samples': { type: 'string', default: '64' },
    preset: { type: 'string', default: 'small' },
    overrides: { type: 'string', default: '{"depth":1,"numLatents":16}' },
    mode: { type: 'string', default: 'sync' },
    'local-steps': { type: 'string', default: '4' },
    store: { type: 'string', default: 's3' },
    pin: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
if (values.pin) checkTwoCores();
if (values.store !== 's3' && values.store !== 'folder') throw new Error(`--store: expected s3 or folder, got ${values.store}`);

const cluster = await startCluster({ store: values.store });
if (values.pin) pinServices(cluster.redis.process.pid);
const rows: Array<Record<string, number | string>> = [];
try {
  for (const n of values.pin ? [1] : [1, 2]) {
    const ids = Array.from({ length: n }, (_, i) => `bench-${n}-${i}`);
    const start = () => startWorkers(cluster, ids);
    const workers = values.pin ? await startOnWorkerCore(start) : await start();
    const cfg = parseRunConfig({
      run: `bench-${n}w`,
      seed: 1,
      dataset: { name: 'statlog', source: STATLOG_SOURCE, shardSize: 512 },
      model: { preset: values.preset, overrides: values.overrides },
      train: {
        mode: values.mode,
        localSteps: Number(values['local-steps']),
        rounds: Number(values.rounds),
        slices: Number(values.slices),
        sliceSamples: Number(values['slice-samples']),
        maxAtoms: 36,
        lr: 4e-3,
      },
      checkpoint: { every: 0 },
      eval: { maxSamples: 100, sliceSamples: 100 },
    });
    const ex = await BullMQExecutor.open({ redisUrl: cluster.redis.url, run: cfg.run, queues: queuesOf(cfg) });
    // CPU of this process (the coordinator and the S3 server) while it trains: on a 2-core
    // machine every millisecond of it is taken from a worker.
    // Measured over the same rounds as the rest (after the 2 warm-up rounds).
    let cpu0: NodeJS.CpuUsage | undefined;
    let cpuMs = 0;
    const onEvent = (e: { type: string; round?: number }): void => {
      if (e.type !== 'round') return;
      if (e.round === 2) cpu0 = process.cpuUsage();
      else if (e.round === cfg.train.rounds && cpu0 !== undefined) {
        const c = process.cpuUsage(cpu0);
        cpuMs = (c.user + c.system) / 1000;
      }
    };
    let weightsSha256 = '';
    try {
      const r = await train({ store: cluster.store, executor: ex, config: cfg, onEvent });
      // The final weights' bits: a change of the round machinery must keep them.
      weightsSha256 = sha256Hex(new Uint8Array(r.weights.buffer, r.weights.byteOffset, r.weights.byteLength));
    } finally {
      await ex.close();
    }
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    // Skip the first 2 rounds (JIT warm-up, first fetch of every shard).
    const events = await metricsOf(cluster.store, cfg.run);
    const all = events.filter((e): e is RoundEvent => e.type === 'round');
    const rounds = all.slice(2);
    // The round period: from one round's end to the next's, so everything the coordinator
    // does between rounds counts too (a round's own wallMs starts at its weights publish).
    const periods = rounds.map((e, i) => Date.parse(e.time) - Date.parse(all[i + 1]!.time));
    const jobs = events.filter((e): e is JobEvent => e.type === 'job' && e.round > 2);
    const mean = (f: (e: JobEvent) => number) => jobs.reduce((s, e) => s + f(e), 0) / Math.max(1, jobs.length);
    const sum = (f: (e: RoundEvent) => number) => rounds.reduce((s, e) => s + f(e), 0);
    const wall = periods.reduce((a, b) => a + b, 0);
    const slowest = sum((e) => e.slowestComputeMs);
    const local = jobs.filter((e) => e.innerStateFromMemory !== undefined);
    rows.push({
      workers: n,
      rounds: rounds.length,
      'round period ms': wall / rounds.length,
      'in-round wall ms': sum((e) => e.wallMs) / rounds.length,
      'slowest compute ms/round': slowest / rounds.length,
      'overhead ms/round': (wall - slowest) / rounds.length,
      'overhead %': (100 * (wall - slowest)) / wall,
      'aggregate ms/round': sum((e) => e.aggregateMs) / rounds.length,
      'publish ms/round': sum((e) => Number(e.publishMs ?? 0)) / rounds.length,
      'max queued ms': sum((e) => Number(e.queuedMs ?? 0)) / rounds.length,
      'max detect ms': sum((e) => Number(e.detectedMs ?? 0)) / rounds.length,
      'job fetch ms': mean((e) => e.fetchMs),
      'job batch ms': mean((e) => e.batchMs),
      'job compute ms': mean((e) => e.computeMs),
      'job upload ms': mean((e) => e.uploadMs),
      'slot state from memory %': local.length > 0 ? (100 * local.filter((e) => e.innerStateFromMemory === true).length) / local.length : 0,
      'KiB moved/round': sum((e) => e.bytesMoved) / 1024 / rounds.length,
      'coordinator+S3 CPU ms/round': cpuMs / rounds.length,
      'samples/s': sum((e) => e.samples) / (wall / 1000),
      'weights sha256': weightsSha256,
    });
  }
} finally {
  await cluster.stop();
}
const one = rows[0]!['samples/s'] as number;
const two = rows[1] === undefined ? undefined : (rows[1]['samples/s'] as number);
const layout = values.pin ? 'pinned: coordinator, S3 and Redis on core 0, the worker on core 1' : 'unpinned';
const machine = `${cpus()[0]?.model ?? '?'} x${cpus().length}, Node ${process.version}, load ${loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
if (values.json) {
  process.stdout.write(`${JSON.stringify({ machine, layout, rows, ...(two !== undefined ? { efficiency2: two / (2 * one) } : {}) })}\n`);
} else {
  process.stdout.write(`${machine}; ${layout}\n`);
  for (const r of rows)
    process.stdout.write(
      `${Object.entries(r)
        .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(1) : v}`)
        .join(' | ')}\n`,
    );
  if (two !== undefined) process.stdout.write(`2-worker scaling efficiency: ${((100 * two) / (2 * one)).toFixed(1)}%\n`);
}
process.exit(0);
