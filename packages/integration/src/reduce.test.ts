import { InProcessExecutor, train, type TrainResult } from '@atomizer/coordinator';
import { selectBackend } from '@atomizer/model';
import type { ObjectStore, RoundEvent, RunConfig } from '@atomizer/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsOf, sameBits, startCluster, startWorkers, statlogConfig, trainOnCluster, type Cluster } from './harness.js';

// Issue 13, range reducers that the workers run (train.reduce: workers): a real
// redis-server, a real S3 server (s3rver), workers as separate OS processes running both
// the slices and the reducer jobs. The reference is the coordinator's own fold on the same
// config (the single-process loop, which the engine tests show equals the distributed
// coordinator fold bit for bit).

let cluster: Cluster;
let reference: TrainResult;

const config = (run: string): RunConfig => statlogConfig(run, { train: { reduce: 'workers', reduceRanges: 3 } });

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

function distributed(cfg: RunConfig, store: ObjectStore = cluster.store, lines: string[] = []): Promise<TrainResult> {
  return trainOnCluster(cluster, cfg, { store, log: (m) => lines.push(m) });
}

async function roundsOf(run: string): Promise<RoundEvent[]> {
  return (await metricsOf(cluster.store, run)).filter((e): e is RoundEvent => e.type === 'round');
}

describe('train.reduce workers on real Statlog data', () => {
  it("gives the coordinator fold's weights bit for bit with 1 and with 3 workers, the coordinator reading P values a round", async () => {
    const one = await startWorkers(cluster, ['r-solo']);
    const r1 = await distributed(config('reduce-one'));
    await Promise.all(one.map((w) => w.kill('SIGTERM')));
    const three = await startWorkers(cluster, ['r1', 'r2', 'r3']);
    const r3 = await distributed(config('reduce-three'));
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
    const r = await distributed(config('reduce-fault'), flaky, lines);
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    expect(corrupted).toBe(1);
    expect(lines.join('\n')).toMatch(/round 2: output of range reducer 1 refused: .*reduce-g1-range-1\.bin/);
    expect(sameBits(r.weights, reference.weights)).toBe(true);
    const rounds = await roundsOf('reduce-fault');
    expect(rounds.map((e) => e.aggregation?.reducerRestarts)).toEqual([0, 1, 0, 0]);
  }, 300_000);
});
