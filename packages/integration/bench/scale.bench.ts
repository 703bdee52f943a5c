// Issue 13's simulation: how the coordinator's memory, CPU and aggregation time grow with
// the number of workers N and the parameter count P. Real `atomizer worker` processes with
// `--compute stub` (a deterministic pseudo-gradient of the run's size, no model), a real
// redis-server, the store (a folder every process opens, or the embedded S3 server), and
// `atomizer train` as its own OS process, whose round events report its CPU and peak RSS.
//
//   npm run bench:scale -- [--workers 1,2,4,8,16,32,64] [--params small,paper] [--rounds 3]
//                          [--processes 16] [--paper-busy 6] [--store folder|s3] [--pin] [--json]
//                          [--reduce coordinator|workers]
//
// --reduce workers: train.reduce workers, the round's sum built by range reducer jobs on the
// stub workers (docs/design.md "Aggregation"); the coordinator then reads P values a round.
//
// N is the slice count of a round (one result per simulated worker). The worker
// processes are started once and serve every run: min(largest N, --processes) of them,
// because each is two Node processes (worker + compute) of about 150 MB, and 64 pairs do
// not fit in this machine's 24 GB beside a paper-size coordinator. At paper P
// a busy stub worker holds about 0.8 GB (weights, its pseudo-gradient, the encoded
// result), so on this machine the train queues' global concurrency caps how many compute
// at once (--paper-busy); the coordinator still receives N results per round.
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseRunConfig, runKeys, type RoundEvent, type RunStatus } from '@atomizer/protocol';
import { connectRedis, redisOptions } from '@atomizer/protocol/redis';
import { Queue, type ConnectionOptions } from 'bullmq';
import { atomizer, metricsOf, queuesOf, startCluster, startWorkers, STATLOG_SOURCE, type WorkerProc } from '../src/harness.js';
import { checkTwoCores, pinServices, startOnWorkerCore } from './cpu-pinning.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4,8,16,32,64' },
    params: { type: 'string', default: 'small,paper' },
    rounds: { type: 'string', default: '3' },
    processes: { type: 'string', default: '16' },
    'paper-busy': { type: 'string', default: '6' },
    store: { type: 'string', default: 'folder' },
    pin: { type: 'boolean', default: false },
    reduce: { type: 'string', default: 'coordinator' },
    json: { type: 'boolean', default: false },
  },
});
const Ns = values.workers.split(',').map((v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--workers: expected positive integers, got ${v}`);
  return n;
});
const presets = values.params.split(',').map((p) => {
  if (p !== 'small' && p !== 'paper') throw new Error(`--params: expected small or paper, got ${p}`);
  return p;
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 2) throw new Error(`--rounds: expected an integer of at least 2, got ${values.rounds}`);
const paperBusy = Number(values['paper-busy']);
if (values.store !== 's3' && values.store !== 'folder') throw new Error(`--store: expected s3 or folder, got ${values.store}`);
if (values.reduce !== 'coordinator' && values.reduce !== 'workers')
  throw new Error(`--reduce: expected coordinator or workers, got ${values.reduce}`);
const reduce = values.reduce;
const say = (m: string): void => void process.stderr.write(`${m}\n`);

export interface ScaleRow {
  preset: string;
  params: number;
  workers: number;
  /** Worker processes serving the N slices. */
  processes: number;
  busyAtOnce: number;
  rounds: number;
  /** Median over rounds 2..R (round 1 warms caches and the JIT). */
  roundMs: number;
  aggregateMsPerRound: number;
  foldMsPerRound: number;
  rereadsPerRound: number;
  /** Ranges of the vector the fold used (R) and where they were reduced. */
  ranges: number;
  where: string;
  /** Where the sum was built (train.reduce). */
  reduce: 'coordinator' | 'workers';
  /** Payload bytes the coordinator read per round to build the sum: each result once (N x 4P at f32), or with --reduce workers the R range outputs (4P). */
  foldReadBytesPerRound: number;
  /** --reduce workers: per range reducer job, medians over rounds 2..R: bytes read (its range of every result, and the plan), read, fold and upload ms. */
  rangeJob?: { perRound: number; bytesIn: number; readMs: number; foldMs: number; uploadMs: number };
  coordinatorCpuMsPerRound: number;
  coordinatorPeakRssMB: number;
  storeBytesPerRound: number;
  redisCommandsPerRound: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function rangeJobOf(events: RoundEvent[]): NonNullable<ScaleRow['rangeJob']> {
  const per = (f: (j: NonNullable<NonNullable<RoundEvent['aggregation']>['rangeJobs']>) => number) =>
    median(
      events.map((e) => (e.aggregation?.rangeJobs !== undefined ? f(e.aggregation.rangeJobs) / e.aggregation.rangeJobs.jobs : Number.NaN)),
    );
  return {
    perRound: median(events.map((e) => e.aggregation?.rangeJobs?.jobs ?? Number.NaN)),
    bytesIn: per((j) => j.bytesIn),
    readMs: per((j) => j.readMs),
    foldMs: per((j) => j.foldMs),
    uploadMs: per((j) => j.uploadMs),
  };
}

async function redisCommands(url: string): Promise<number> {
  const r = connectRedis(url);
  try {
    const info = await r.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
  } finally {
    r.disconnect();
  }
}

if (values.pin) checkTwoCores();
const cluster = await startCluster({ store: values.store });
if (values.pin) {
  // The cluster layout in small: Redis, the store and the coordinator (forked from this
  // process) on core 0, every stub worker on core 1, as GPU hosts would not share the
  // coordinator's cores.
  pinServices(cluster.redis.process.pid);
}
const rows: ScaleRow[] = [];
try {
  const maxN = Math.min(Math.max(...Ns), Number(values.processes));
  if (!Number.isInteger(maxN) || maxN < 1) throw new Error(`--processes: expected a positive integer, got ${values.processes}`);
  say(`starting ${maxN} stub worker processes...`);
  // In batches of 2: many processes starting at once on two shared cores miss the harness's 60 s start limit.
  const workers: WorkerProc[] = [];
  for (let i = 0; i < maxN; i += 2) {
    const ids = Array.from({ length: Math.min(2, maxN - i) }, (_, k) => `stub-${i + k}`);
    const start = () => startWorkers(cluster, ids, ['--compute', 'stub', '--lock-seconds', '600']);
    workers.push(...(values.pin ? await startOnWorkerCore(start) : await start()));
    say(`  ${workers.length} up`);
  }
  for (const preset of presets) {
    for (const n of Ns) {
      const run = `scale-${preset}-${n}`;
      const cfg = parseRunConfig({
        run,
        seed: 1,
        dataset: { name: 'statlog', source: STATLOG_SOURCE, shardSize: 512 },
        model: { preset },
        train: { mode: 'sync', rounds, slices: n, sliceSamples: 4, maxAtoms: 36, reduce },
        rounds: { deadlineSeconds: 3600 },
        checkpoint: { every: 0 },
        eval: { maxSamples: 4, sliceSamples: 4 },
      });
      const busy = Math.min(n, maxN, preset === 'paper' ? paperBusy : Infinity);
      const connection = redisOptions(cluster.redis.url) as ConnectionOptions;
      for (const name of queuesOf(cfg).train) {
        const q = new Queue(name, { connection });
        q.on('error', () => undefined);
        await q.setGlobalConcurrency(busy);
        await q.close();
      }
      const file = join(cluster.dir, `${run}.json`);
      await writeFile(file, JSON.stringify(cfg));
      const commands0 = await redisCommands(cluster.redis.url);
      say(`${preset} P, N=${n} (${busy} computing at once), ${rounds} rounds, reduce: ${reduce}...`);
      const coord = atomizer(cluster, ['train', '--config', file, '--redis', cluster.redis.url, '--s3', cluster.location]);
      const code = await coord.exited;
      if (code !== 0) throw new Error(`atomizer train for ${run} exited with ${code}:\n${coord.output().slice(-3000)}`);
      const commands = (await redisCommands(cluster.redis.url)) - commands0;
      const events = (await metricsOf(cluster.store, run)).filter((e): e is RoundEvent => e.type === 'round');
      const steady = events.slice(1);
      const coordOf = (e: RoundEvent) => e.coordinator ?? { cpuMs: Number.NaN, rssMB: Number.NaN, peakRssMB: Number.NaN };
      const row: ScaleRow = {
        preset,
        params: (JSON.parse(new TextDecoder().decode(await cluster.store.get(runKeys(run).status))) as RunStatus).params ?? 0,
        workers: n,
        processes: Math.min(n, maxN),
        busyAtOnce: busy,
        rounds,
        roundMs: median(steady.map((e) => e.wallMs)),
        aggregateMsPerRound: median(steady.map((e) => e.aggregateMs)),
        foldMsPerRound: median(steady.map((e) => e.aggregation?.foldMs ?? Number.NaN)),
        rereadsPerRound: median(steady.map((e) => e.aggregation?.rereads ?? Number.NaN)),
        ranges: Math.max(...steady.map((e) => e.aggregation?.ranges ?? 1)),
        where: steady[0]?.aggregation?.where ?? 'coordinator',
        reduce,
        foldReadBytesPerRound: median(steady.map((e) => e.aggregation?.bytesRead ?? Number.NaN)),
        ...(reduce === 'workers' ? { rangeJob: rangeJobOf(steady) } : {}),
        coordinatorCpuMsPerRound: median(steady.map((e) => coordOf(e).cpuMs)),
        coordinatorPeakRssMB: Math.max(...events.map((e) => coordOf(e).peakRssMB)),
        storeBytesPerRound: median(steady.map((e) => e.bytesMoved)),
        // Everything the run sent to Redis (its setup and evaluation too), spread over its rounds.
        redisCommandsPerRound: commands / rounds,
      };
      rows.push(row);
      if (row.rangeJob !== undefined) {
        const j = row.rangeJob;
        say(
          `  ${j.perRound} reducer job(s) a round, each: ${(j.bytesIn / 2 ** 20).toFixed(1)} MiB read in ${j.readMs.toFixed(0)} ms, folded in ${j.foldMs.toFixed(0)} ms, output written in ${j.uploadMs.toFixed(0)} ms`,
        );
      }
      say(
        `  round ${(row.roundMs / 1000).toFixed(1)} s, aggregate after close ${row.aggregateMsPerRound.toFixed(0)} ms, fold/reduce ${row.foldMsPerRound.toFixed(0)} ms, R = ${row.ranges} (${row.where}), coordinator read ${(row.foldReadBytesPerRound / 2 ** 20).toFixed(1)} MiB, ` +
          `${row.rereadsPerRound} re-read, coordinator CPU ${(row.coordinatorCpuMsPerRound / 1000).toFixed(1)} s/round, peak RSS ${row.coordinatorPeakRssMB.toFixed(0)} MB`,
      );
      // Nothing of this run is needed any more: keep the disk for the next.
      for (const k of await cluster.store.list(`runs/${run}/`)) await cluster.store.delete(k);
    }
  }
  await Promise.all(workers.map((w) => w.kill('SIGTERM')));
} finally {
  await cluster.stop();
}

const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  store: values.store,
  layout: values.pin ? 'pinned: coordinator, store and Redis on core 0, stub workers on core 1' : 'unpinned',
  reduce,
};
if (values.json) {
  process.stdout.write(`${JSON.stringify({ machine, rows })}\n`);
} else {
  say(
    `\n${machine.cpus} x ${machine.cpu}, ${machine.memoryGB} GB, Node ${machine.node}, store ${machine.store}, ${machine.layout}, reduce: ${reduce}`,
  );
  const head = [
    'P',
    'N',
    'processes',
    'busy',
    'round s',
    'agg after close ms',
    'fold/reduce ms',
    'R (where)',
    'coordinator read MB/round',
    're-reads',
    'coord CPU s',
    'peak RSS MB',
    'store MB/round',
    'Redis cmds/round',
  ];
  const lines = rows.map((r) => [
    r.params.toLocaleString('en'),
    String(r.workers),
    String(r.processes),
    String(r.busyAtOnce),
    (r.roundMs / 1000).toFixed(1),
    r.aggregateMsPerRound.toFixed(0),
    r.foldMsPerRound.toFixed(0),
    `${r.ranges} (${r.where})`,
    (r.foldReadBytesPerRound / 2 ** 20).toFixed(0),
    String(r.rereadsPerRound),
    (r.coordinatorCpuMsPerRound / 1000).toFixed(2),
    r.coordinatorPeakRssMB.toFixed(0),
    (r.storeBytesPerRound / 2 ** 20).toFixed(0),
    r.redisCommandsPerRound.toFixed(0),
  ]);
  process.stdout.write(
    `| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n${lines.map((l) => `| ${l.join(' | ')} |`).join('\n')}\n`,
  );
}
