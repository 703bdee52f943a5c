import { InProcessExecutor, train, type TrainResult } from '@atomizer/coordinator';
import { selectBackend } from '@atomizer/model';
import { runKeys, type ObjectStore, type RoundEvent, type RunConfig } from '@atomizer/protocol';
import { redisOptions } from '@atomizer/protocol/redis';
import { Queue, type ConnectionOptions } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  maxAbsDiff,
  metricsOf,
  queuesOf,
  sameBits,
  startCluster,
  startWorkers,
  statlogConfig,
  trainOnCluster,
  type Cluster,
} from './harness.js';

// Issue 4, tests 1-3: a real redis-server, a real S3 server (s3rver), workers
// as separate OS processes, the coordinator in this process. The reference is
// the single-process loop over the same batches (InProcessExecutor: the
// worker's own job code run here, one slice after the other).

let cluster: Cluster;
let reference: TrainResult;

beforeAll(async () => {
  await selectBackend('wasm', () => undefined);
  cluster = await startCluster();
  reference = await train({
    store: cluster.store,
    executor: new InProcessExecutor(cluster.store, 'wasm'),
    config: statlogConfig('reference'),
  });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
});

function distributed(cfg: RunConfig): Promise<TrainResult> {
  return trainOnCluster(cluster, cfg);
}

describe('distributed training on real Statlog data', () => {
  it('2 workers: loss goes down, every artifact is in the store, and the weights equal the single-process loop bit for bit', async () => {
    const workers = await startWorkers(cluster, ['w1', 'w2']);
    const r = await distributed(statlogConfig('two-workers'));
    expect(r.state).toBe('done');
    const events = await metricsOf(cluster.store, 'two-workers');
    const rounds = events.filter((e) => e.type === 'round');
    expect(rounds.map((e) => e.round)).toEqual([1, 2, 3, 4]);
    expect(rounds.at(-1)!.loss).toBeLessThan(rounds[0]!.loss);
    // Both workers took part (jobs are spread over 2 queues, each worker serves both).
    expect(new Set(events.filter((e) => e.type === 'job').map((e) => e.worker))).toEqual(new Set(['w1', 'w2']));
    const keys = new Set(await cluster.store.list(runKeys('two-workers').root));
    const k = runKeys('two-workers');
    for (const key of [k.config, k.metrics, k.status, k.latestCheckpoint, k.weights(4), k.checkpoint(4, 'state.safetensors')]) {
      expect(keys, key).toContain(key);
    }
    // Committed rounds leave no slice results and no spent weights behind (checkpoint.keepResults off).
    expect(
      [...keys].filter(
        (key) => key.startsWith(k.resultsPrefix(1).replace(/\d+\/$/, '')) || (key.includes('/weights/') && key !== k.weights(4)),
      ),
    ).toEqual([]);
    expect(events.filter((e) => e.type === 'eval').length).toBeGreaterThan(0);
    // Equivalence (sync mode): same batches, sums in job-id order -> bitwise equal weights.
    expect(sameBits(r.weights, reference.weights)).toBe(true);
    expect(r.loss).toBe(reference.loss);
    // Every round's flow parent is marked done (the coordinator takes them off the critical path, the last at close).
    const roundsQueue = new Queue(queuesOf(statlogConfig('two-workers')).rounds, {
      connection: redisOptions(cluster.redis.url) as ConnectionOptions,
    });
    const parents = await roundsQueue.getJobs(['wait', 'active', 'completed', 'failed']);
    await roundsQueue.close();
    const ours = parents.filter((j) => (j.data as { run?: string }).run === 'two-workers');
    expect(ours.map((j) => (j.returnvalue as { round?: number } | null)?.round).sort()).toEqual([1, 2, 3, 4]);
    // SIGTERM: each worker finishes or releases its job and exits cleanly.
    const codes = await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    expect(codes).toEqual([0, 0]);
    for (const w of workers) expect(w.output()).toMatch(/stopped after \d+ jobs/);
  }, 240_000);

  it('the same seed gives identical weights with 1 worker and with 3 workers', async () => {
    const one = await startWorkers(cluster, ['solo']);
    const r1 = await distributed(statlogConfig('one-worker'));
    await Promise.all(one.map((w) => w.kill('SIGTERM')));
    const three = await startWorkers(cluster, ['t1', 't2', 't3']);
    const r3 = await distributed(statlogConfig('three-workers'));
    const events = await metricsOf(cluster.store, 'three-workers');
    await Promise.all(three.map((w) => w.kill('SIGTERM')));
    expect(new Set(events.filter((e) => e.type === 'job').map((e) => e.worker)).size).toBeGreaterThan(1);
    expect(sameBits(r1.weights, r3.weights)).toBe(true);
    expect(sameBits(r1.weights, reference.weights)).toBe(true);
  }, 240_000);

  it('transport bf16 and f16: results and weights travel at half the bytes, the run stays near the f32 one, and one worker process reproduces it bit for bit', async () => {
    const refJobs = (await metricsOf(cluster.store, 'reference')).filter((e) => e.type === 'job');
    for (const transport of ['bf16', 'f16'] as const) {
      const run = `transport-${transport}`;
      const cfg = statlogConfig(run, { train: { transport } });
      const local = await train({ store: cluster.store, executor: new InProcessExecutor(cluster.store, 'wasm'), config: cfg });
      const jobs = (await metricsOf(cluster.store, run)).filter((e) => e.type === 'job');
      const ratio = jobs.reduce((n, e) => n + e.bytesOut, 0) / refJobs.reduce((n, e) => n + e.bytesOut, 0);
      expect(ratio).toBeGreaterThan(0.49);
      expect(ratio).toBeLessThan(0.52);
      // Lossy, but the same run: every weight within a small distance of the f32 run's.
      const scale = Math.max(...reference.weights.map(Math.abs));
      expect(maxAbsDiff(local.weights, reference.weights)).toBeLessThan(0.02 * scale);
      expect(sameBits(local.weights, reference.weights)).toBe(false);
      const workers = await startWorkers(cluster, [`${transport}-w`]);
      const remote = await distributed(statlogConfig(`${run}-remote`, { train: { transport } }));
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      expect(sameBits(remote.weights, local.weights)).toBe(true);
    }
  }, 300_000);

  it('stub compute, 16 slices a round over 4 workers: results arrive out of order and the streaming sum still gives the in-process bits', async () => {
    const cfg = (run: string, rounds = 3) =>
      statlogConfig(run, { model: { preset: 'small' }, train: { rounds, slices: 16, sliceSamples: 4 }, checkpoint: { every: 0 } });
    const ref = await train({
      store: cluster.store,
      executor: new InProcessExecutor(cluster.store, 'wasm', 'stub'),
      config: cfg('stub-reference'),
    });
    const workers = await startWorkers(cluster, ['s1', 's2', 's3', 's4'], ['--compute', 'stub']);
    const r = await distributed(cfg('stub-four'));
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    const events = await metricsOf(cluster.store, 'stub-four');
    const rounds = events.filter((e) => e.type === 'round');
    expect(rounds.map((e) => [e.received, e.backends, e.aggregation?.method])).toEqual(
      Array.from({ length: 3 }, () => [16, ['stub'], 'ordered-ranges']),
    );
    expect(new Set(events.filter((e) => e.type === 'job').map((e) => e.worker)).size).toBeGreaterThan(1);
    for (const e of rounds) expect(e.coordinator?.peakRssMB).toBeGreaterThan(0);
    expect(sameBits(r.weights, ref.weights)).toBe(true);
    // The stub moves the weights round after round.
    expect(
      sameBits(
        r.weights,
        (
          await train({
            store: cluster.store,
            executor: new InProcessExecutor(cluster.store, 'wasm', 'stub'),
            config: cfg('stub-one-round', 1),
          })
        ).weights,
      ),
    ).toBe(false);
  }, 240_000);
});

const reduceConfig = (run: string): RunConfig => statlogConfig(run, { train: { reduce: 'workers', reduceRanges: 3 } });

async function roundsOf(run: string): Promise<RoundEvent[]> {
  return (await metricsOf(cluster.store, run)).filter((e): e is RoundEvent => e.type === 'round');
}

// Issue 13, range reducers that the workers run (train.reduce: workers): the workers run both
// the slices and the reducer jobs; the reference is the coordinator's own fold on the same
// config (the single-process loop, which the tests above show equals the distributed
// coordinator fold bit for bit).
describe('train.reduce workers on real Statlog data', () => {
  it("gives the coordinator fold's weights bit for bit with 1 and with 3 workers, the coordinator reading P values a round", async () => {
    const one = await startWorkers(cluster, ['r-solo']);
    const r1 = await distributed(reduceConfig('reduce-one'));
    await Promise.all(one.map((w) => w.kill('SIGTERM')));
    const three = await startWorkers(cluster, ['r1', 'r2', 'r3']);
    const r3 = await distributed(reduceConfig('reduce-three'));
    const outputs = three.map((w) => w.output());
    await Promise.all(three.map((w) => w.kill('SIGTERM')));
    expect(r1.state).toBe('done');
    expect(sameBits(r1.weights, reference.weights)).toBe(true);
    expect(sameBits(r3.weights, reference.weights)).toBe(true);
    expect(r3.loss).toBe(reference.loss);
    const P = reference.weights.length;
    for (const run of ['reduce-one', 'reduce-three']) {
      const rounds = await roundsOf(run);
      expect(rounds.map((e) => [e.aggregation?.where, e.aggregation?.ranges])).toEqual(Array.from({ length: 4 }, () => ['workers', 3]));
      // The 3 ranges' outputs: P float32 values and 3 headers, against 3 results of P values each in the coordinator path.
      for (const e of rounds) {
        expect(e.aggregation?.bytesRead).toBeGreaterThanOrEqual(4 * P);
        expect(e.aggregation?.bytesRead).toBeLessThan(4 * P + 3 * 4096);
      }
    }
    // The reducer jobs ran on the worker processes (more than one of them with 3 workers).
    expect(outputs.filter((o) => /range reduced/.test(o)).length).toBeGreaterThan(1);
  }, 300_000);

  it('a range output corrupted in the store is refused with the reason, its reducer job run again, and the run ends on the same bits', async () => {
    // The coordinator's reads of the store (the real S3 server behind), with the first read of
    // round 2's range 1 output flipped by one bit: as a disk or a network would.
    let corrupted = 0;
    const base = cluster.store;
    const flaky: ObjectStore = Object.assign(Object.create(base) as ObjectStore, {
      async get(key: string): Promise<Uint8Array> {
        const bytes = await base.get(key);
        if (corrupted > 0 || !/results\/0*2\/reduce-g1-range-1\.bin$/.test(key)) return bytes;
        corrupted++;
        const bad = bytes.slice();
        bad[bad.length - 1]! ^= 0x01;
        return bad;
      },
    });
    const workers = await startWorkers(cluster, ['f1', 'f2']);
    const lines: string[] = [];
    const r = await trainOnCluster(cluster, reduceConfig('reduce-fault'), { store: flaky, log: (m) => lines.push(m) });
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    expect(corrupted).toBe(1);
    expect(lines.join('\n')).toMatch(/round 2: output of range reducer 1 refused: .*reduce-g1-range-1\.bin/);
    expect(sameBits(r.weights, reference.weights)).toBe(true);
    const rounds = await roundsOf('reduce-fault');
    expect(rounds.map((e) => e.aggregation?.reducerRestarts)).toEqual([0, 1, 0, 0]);
  }, 300_000);
});
