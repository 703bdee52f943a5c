import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  LocalStore,
  WORKER_KEY_PREFIX,
  decodeFlat,
  parseMetricsJsonl,
  parseRunConfig,
  queueNames,
  runKeys,
  type MetricEvent,
  type ObjectStore,
  type RunConfig,
  type RunConfigInput,
  type WorkerStatus,
} from '@atomizer/protocol';
import { connectRedis, startEmbeddedRedis, type EmbeddedRedis } from '@atomizer/protocol/redis';
import { startEmbeddedS3, type EmbeddedS3 } from '@atomizer/protocol/embedded';
import { BullMQExecutor, train, type TrainResult } from '@atomizer/coordinator';
import { dataPath } from '@atomizer/tokenizer';

// A real cluster on one machine for the integration tests: a redis-server
// child, an s3rver S3 endpoint on a temp folder, and `atomizer worker` /
// `atomizer train` processes started exactly as a user would (node + tsx on
// the CLI source), as separate OS processes that can be SIGKILLed.

const CLI = fileURLToPath(new URL('../../coordinator/src/cli.ts', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');

export interface Cluster {
  redis: EmbeddedRedis;
  /** The S3 server; undefined when the cluster shares a folder instead. */
  s3: EmbeddedS3 | undefined;
  store: ObjectStore;
  /** --s3 location for processes. */
  location: string;
  env: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

/**
 * A redis-server and an object store for a test or bench: an S3 server on a temp folder
 * (default, the cluster path), or `{ store: 'folder' }`: a folder every process opens
 * directly (file://), the one-host alternative without an S3 server.
 */
export async function startCluster(opts: { store?: 's3' | 'folder' } = {}): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'atomizer-it-'));
  const redis = await startEmbeddedRedis();
  const s3 = opts.store === 'folder' ? undefined : await startEmbeddedS3({ dir: join(dir, 's3') });
  const location = s3 !== undefined ? `s3://${s3.bucket}` : pathToFileURL(join(dir, 'store')).href;
  const procs: Proc[] = [];
  const cluster: Cluster & { procs: Proc[] } = {
    redis,
    s3,
    store: s3 !== undefined ? s3.store() : new LocalStore(join(dir, 'store')),
    location,
    env: { ...s3?.env, REDIS_URL: redis.url, ATOMIZER_S3: location, NO_COLOR: '1' },
    dir,
    procs,
    async stop() {
      await Promise.all(procs.map((p) => p.kill('SIGKILL')));
      // The servers running now: a test may have restarted either.
      await cluster.s3?.stop();
      await cluster.redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  clusters.set(cluster, procs);
  return cluster;
}

const clusters = new Map<Cluster, Proc[]>();

/** Stop redis-server, leave it down for `downMs`, start it again on the same port (empty: it keeps nothing on disk). */
export async function restartRedis(cluster: Cluster, downMs: number): Promise<void> {
  const port = cluster.redis.port;
  await cluster.redis.stop();
  await sleep(downMs);
  cluster.redis = await startEmbeddedRedis({ port });
}

/** Stop the S3 server, leave it down for `downMs`, start it again on the same port and folder (objects kept). */
export async function restartS3(cluster: Cluster, downMs: number): Promise<void> {
  const s3 = cluster.s3;
  if (s3 === undefined) throw new Error('restartS3: this cluster has no S3 server (store: folder)');
  const port = Number(new URL(s3.endpoint).port);
  await s3.stop();
  await sleep(downMs);
  cluster.s3 = await startEmbeddedS3({ dir: join(cluster.dir, 's3'), port });
  // The old server's clients were closed with it.
  cluster.store = cluster.s3.store();
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** `atomizer <args>` as a separate OS process (node itself, no launcher in between, so signals reach it). */
export function atomizer(cluster: Cluster, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--conditions=@atomizer/source', '--import', TSX, CLI, ...args], {
    env: { ...process.env, ...cluster.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: Proc = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A process still there 90 s after a polite signal (a worker drains for at most 60 s) is
      // killed: a test never waits on it forever.
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  clusters.get(cluster)?.push(proc);
  return proc;
}

export interface WorkerProc extends Proc {
  id: string;
}

/** Start `atomizer worker` processes and wait until each has a heartbeat in Redis. */
export async function startWorkers(cluster: Cluster, ids: string[], extra: string[] = []): Promise<WorkerProc[]> {
  // A dead predecessor's heartbeat (same id) would pass for this worker's own.
  // On a loaded machine a command can time out (15 s): the start limit below bounds the
  // retries, so a slow Redis is a slow start, not an exception from the harness.
  const deadline = Date.now() + 60_000;
  const cleaner = connectRedis(cluster.redis.url);
  try {
    for (;;) {
      const ok =
        ids.length === 0 ||
        (await cleaner.del(...ids.map((id) => `${WORKER_KEY_PREFIX}${id}`)).then(
          () => true,
          () => false,
        ));
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`Redis at ${cluster.redis.url} did not answer within 60 s while starting workers ${ids.join(', ')}`);
      await sleep(500);
    }
  } finally {
    cleaner.disconnect();
  }
  const procs = ids.map((id) => ({
    ...atomizer(cluster, [
      'worker',
      '--redis',
      cluster.redis.url,
      '--s3',
      cluster.location,
      '--backend',
      'wasm',
      '--id',
      id,
      '--cache-dir',
      join(cluster.dir, `cache-${id}`),
      ...extra,
    ]),
    id,
  }));
  const redis = connectRedis(cluster.redis.url);
  try {
    for (const p of procs) {
      for (;;) {
        const raw = await redis.get(`${WORKER_KEY_PREFIX}${p.id}`).catch(() => null);
        if (raw !== null && (JSON.parse(raw) as WorkerStatus).state !== 'starting') break;
        if (p.child.exitCode !== null) throw new Error(`worker ${p.id} exited at start:\n${p.output()}`);
        if (Date.now() > deadline) throw new Error(`worker ${p.id} did not start within 60 s:\n${p.output()}`);
        await sleep(100);
      }
    }
  } finally {
    redis.disconnect();
  }
  return procs;
}

/**
 * SIGKILL the first of `workers` seen busy on a job whose id `pick` accepts (polling their
 * heartbeats every 20 ms for up to `withinMs`); the killed worker's id, or undefined if none was.
 */
export async function killFirstBusy(
  cluster: Cluster,
  workers: WorkerProc[],
  pick: (jobId: string) => boolean,
  withinMs: number,
): Promise<string | undefined> {
  const redis = connectRedis(cluster.redis.url);
  try {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      for (const w of workers) {
        const raw = await redis.get(`${WORKER_KEY_PREFIX}${w.id}`);
        const st = raw === null ? undefined : (JSON.parse(raw) as WorkerStatus);
        if (st?.state === 'busy' && st.job !== undefined && pick(st.job)) {
          await w.kill('SIGKILL');
          return w.id;
        }
      }
      await sleep(20);
    }
    return undefined;
  } finally {
    redis.disconnect();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export const STATLOG_SOURCE = `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`;

/** A small, fast run on the real Statlog data (tiny model, 36 atoms per sample). */
export function statlogConfig(run: string, over: RunConfigInput = {}): RunConfig {
  return parseRunConfig({
    ...over,
    run,
    seed: over.seed ?? 7,
    dataset: { name: 'statlog', source: STATLOG_SOURCE, shardSize: 512, ...over.dataset },
    model: { preset: 'tiny', ...over.model },
    train: { rounds: 4, slices: 3, sliceSamples: 24, lr: 3e-3, warmupRounds: 1, maxAtoms: 36, ...over.train },
    checkpoint: { every: 2, keep: 3, ...over.checkpoint },
    eval: { maxSamples: 60, sliceSamples: 30, ...over.eval },
    rounds: { deadlineSeconds: 600, attempts: 3, ...over.rounds },
  });
}

export function queuesOf(cfg: RunConfig) {
  return queueNames(cfg.queues.prefix, cfg.queues.train);
}

/**
 * The coordinator in this process on the cluster (the workers are processes of their own):
 * a BullMQ executor for `cfg`'s run, closed after. `store`: the coordinator's view of the
 * store (default the cluster's); `log`: the executor's and the round loop's lines.
 */
export async function trainOnCluster(
  cluster: Cluster,
  cfg: RunConfig,
  opts: { store?: ObjectStore; log?: (m: string) => void } = {},
): Promise<TrainResult> {
  const log = opts.log !== undefined ? { log: opts.log } : {};
  const executor = await BullMQExecutor.open({ redisUrl: cluster.redis.url, run: cfg.run, queues: queuesOf(cfg), pollMs: 100, ...log });
  try {
    return await train({ store: opts.store ?? cluster.store, executor, config: cfg, ...log });
  } finally {
    await executor.close();
  }
}

export async function metricsOf(store: ObjectStore, run: string): Promise<MetricEvent[]> {
  return parseMetricsJsonl(new TextDecoder().decode(await store.get(runKeys(run).metrics)));
}

/** The payload of a stored weights object (runs/<run>/weights/<round>.bin). */
export async function storedWeights(store: ObjectStore, run: string, round: number): Promise<Float32Array> {
  const key = runKeys(run).weights(round);
  const w = decodeFlat(await store.get(key), key).arrays.weights;
  if (!(w instanceof Float32Array)) throw new Error(`${key}: no weights array`);
  return w;
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
