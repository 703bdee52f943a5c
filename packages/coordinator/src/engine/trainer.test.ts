import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '@atomizer/model';
import { LocalStore, parseMetricsJsonl, parseRunConfig, runKeys, type TrainJob } from '@atomizer/protocol';
import { dataPath } from '@atomizer/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessExecutor, type Executor } from './executor.js';
import { train } from './trainer.js';

// The round loop in one process (the reference the distributed tests compare
// against) on the real Statlog data: loss goes down, artifacts are written,
// the same seed gives the same weights, and a run resumed from its checkpoint
// ends where the uninterrupted run ends.

let dir: string;
beforeAll(async () => {
  await selectBackend('cpu', () => undefined);
  dir = await mkdtemp(join(tmpdir(), 'atomizer-trainer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (run: string, extra: Record<string, unknown> = {}) =>
  parseRunConfig({
    run,
    dataset: { name: 'statlog-small', source: `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`, shardSize: 1000 },
    model: { preset: 'tiny' },
    train: { rounds: 6, slices: 2, sliceSamples: 32, lr: 3e-3, warmupRounds: 1, maxAtoms: 36 },
    checkpoint: { every: 2, keep: 2 },
    eval: { maxSamples: 64, sliceSamples: 32 },
    ...extra,
  });

describe('train (in-process executor, real Statlog)', () => {
  it('lowers the loss, writes every artifact and keeps the last K checkpoints', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const r = await train({ store, executor: new InProcessExecutor(store), config: base('a') });
    expect(r.state).toBe('done');
    const events = parseMetricsJsonl(new TextDecoder().decode(await store.get(runKeys('a').metrics)));
    const rounds = events.filter((e) => e.type === 'round');
    expect(rounds).toHaveLength(6);
    expect(rounds.at(-1)!.loss).toBeLessThan(rounds[0]!.loss);
    expect(events.filter((e) => e.type === 'eval').length).toBeGreaterThan(0);
    const keys = await store.list('runs/a/');
    expect(keys).toContain('runs/a/config.json');
    expect(keys).toContain('runs/a/checkpoints/latest.json');
    expect(keys).toContain('runs/a/status.json');
    expect(keys.filter((k) => k.endsWith('state.safetensors')).sort()).toEqual([
      'runs/a/checkpoints/000004/state.safetensors',
      'runs/a/checkpoints/000006/state.safetensors',
    ]);
    // Retention: a committed round's slice results and the weights it read are gone; the
    // final weights (published for the evaluation) stay.
    expect(keys.filter((k) => k.includes('/results/'))).toEqual([]);
    expect(keys.filter((k) => k.includes('/weights/'))).toEqual([runKeys('a').weights(6)]);
  });

  it("refuses, before anything is written, a model whose one sample cannot fit a CPU worker's 4 GiB wasm heap", async () => {
    const store = new LocalStore(join(dir, 'store'));
    const cfg = base('too-big', {
      model: { preset: 'paper', overrides: '{"numLatents":4096,"latentDim":1024}' },
      train: { rounds: 1, slices: 1, sliceSamples: 4, maxAtoms: 36 },
    });
    await expect(train({ store, executor: new InProcessExecutor(store), config: cfg })).rejects.toThrow(
      /run 'too-big': a training step of 1 sample\(s\) at 36 atoms needs about [\d.]+ GiB of heap even with every layer recomputed, over the [\d.]+ GiB a CPU \(wasm\) worker can use/,
    );
    expect(await store.list('runs/too-big/')).toEqual([]);
  });

  it("--keep-results keeps every round's results and published weights, and the same weights", async () => {
    const store = new LocalStore(join(dir, 'store-keep'));
    const kept = await train({
      store,
      executor: new InProcessExecutor(store),
      config: base('a', { checkpoint: { every: 2, keep: 2, keepResults: true } }),
    });
    const keys = await store.list('runs/a/');
    expect(keys.filter((k) => k.startsWith('runs/a/results/000003/'))).toHaveLength(2);
    expect(keys.filter((k) => k.includes('/weights/'))).toHaveLength(7); // rounds 0..5 published, 6 for the evaluation
    const plain = await train({
      store: new LocalStore(join(dir, 'store-plain')),
      executor: new InProcessExecutor(new LocalStore(join(dir, 'store-plain'))),
      config: base('a'),
    });
    expect(Buffer.from(kept.weights.buffer).equals(Buffer.from(plain.weights.buffer))).toBe(true);
  });

  it('is deterministic and resumes exactly', async () => {
    const store = new LocalStore(join(dir, 'store'));
    const full = await train({ store, executor: new InProcessExecutor(store), config: base('full') });
    const again = await train({ store, executor: new InProcessExecutor(store), config: base('again') });
    expect(Buffer.from(again.weights.buffer).equals(Buffer.from(full.weights.buffer))).toBe(true);
    // Stop after round 3 (checkpoint every 2: round 3 is checkpointed because of the stop), then resume.
    const ac = new AbortController();
    const part = await train({
      store,
      executor: new InProcessExecutor(store),
      config: base('part'),
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'round' && e.round === 3) ac.abort();
      },
    });
    expect(part.state).toBe('stopped');
    expect(part.round).toBe(3);
    const resumed = await train({ store, executor: new InProcessExecutor(store), config: base('part'), resume: true });
    expect(resumed.state).toBe('done');
    expect(Buffer.from(resumed.weights.buffer).equals(Buffer.from(full.weights.buffer))).toBe(true);
  });

  it('local mode (DiLoCo): each slot keeps its inner AdamW state across rounds, and a resumed run ends bit-equal', async () => {
    // The workers write inner states as scratch; a checkpointed round's are persisted before the checkpoint names them.
    const persisted: string[] = [];
    const store = new (class extends LocalStore {
      override async persist(key: string): Promise<void> {
        persisted.push(key);
        await super.persist(key);
      }
    })(join(dir, 'store'));
    const local = (run: string) =>
      base(run, {
        train: {
          mode: 'local',
          localSteps: 3,
          rounds: 4,
          slices: 2,
          sliceSamples: 16,
          lr: 3e-3,
          maxAtoms: 36,
          outerKind: 'nesterov',
          outerLr: 0.7,
        },
        checkpoint: { every: 2, keep: 1 },
      });
    const full = await train({ store, executor: new InProcessExecutor(store), config: local('local-full') });
    expect(full.state).toBe('done');
    expect(persisted.sort()).toEqual([2, 4].flatMap((r) => [0, 1].map((i) => `runs/local-full/inner/00000${r}/00000${i}.bin`)));
    // Round 4's states (the last checkpoint resumes from them) are kept; earlier rounds' are deleted.
    const inner = (await store.list('runs/local-full/inner/')).sort();
    expect(inner).toEqual(['runs/local-full/inner/000004/000000.bin', 'runs/local-full/inner/000004/000001.bin']);
    const reset = await train({
      store,
      executor: new InProcessExecutor(store),
      config: { ...local('local-reset'), train: { ...local('x').train, innerState: 'reset' } },
    });
    expect(Buffer.from(reset.weights.buffer).equals(Buffer.from(full.weights.buffer))).toBe(false);
    const ac = new AbortController();
    await train({
      store,
      executor: new InProcessExecutor(store),
      config: local('local-part'),
      signal: ac.signal,
      onEvent: (e) => e.type === 'round' && e.round === 2 && ac.abort(),
    });
    const resumed = await train({ store, executor: new InProcessExecutor(store), config: local('local-part'), resume: true });
    expect(Buffer.from(resumed.weights.buffer).equals(Buffer.from(full.weights.buffer))).toBe(true);
  });

  it('local mode: a slot state the worker left is reused from memory only when its sha256 matches the one the job names', async () => {
    // Reads of the store, by key, to see which slot states were downloaded.
    class CountingStore extends LocalStore {
      gets: string[] = [];
      override async get(key: string): Promise<Uint8Array> {
        this.gets.push(key);
        return super.get(key);
      }
    }
    // Passes the jobs on, with the sha256 of the slot state replaced where asked.
    const tampering = (inner: Executor, sha?: string): Executor => ({
      name: inner.name,
      trainRound: (round, jobs, policy, check, hooks) =>
        inner.trainRound(
          round,
          sha === undefined ? jobs : jobs.map((j): TrainJob => (j.innerStateSha256 === undefined ? j : { ...j, innerStateSha256: sha })),
          policy,
          check,
          hooks,
        ),
      evaluate: (round, jobs, attempts, check) => inner.evaluate(round, jobs, attempts, check),
      reduceRound: (round, generation, jobs, attempts, check) => inner.reduceRound(round, generation, jobs, attempts, check),
      fence: () => inner.fence(),
      assertOwner: () => inner.assertOwner(),
      close: () => inner.close(),
    });
    const local = (run: string) =>
      base(run, {
        train: { mode: 'local', localSteps: 2, rounds: 3, slices: 2, sliceSamples: 16, lr: 3e-3, maxAtoms: 36 },
        checkpoint: { every: 0 },
      });
    const innerGets = (store: CountingStore, run: string) => store.gets.filter((k) => k.startsWith(`runs/${run}/inner/`)).length;
    const store = new CountingStore(join(dir, 'store-counting'));
    const kept = await train({ store, executor: new InProcessExecutor(store), config: local('mem') });
    // Rounds 2 and 3 each name both slots' states: all four come from memory.
    expect(innerGets(store, 'mem')).toBe(0);
    const jobs = parseMetricsJsonl(new TextDecoder().decode(await store.get(runKeys('mem').metrics))).filter(
      (e) => e.type === 'job' && e.round > 1,
    );
    expect(jobs.map((e) => (e as { innerStateFromMemory?: boolean }).innerStateFromMemory)).toEqual([true, true, true, true]);
    // A job naming another state than the one in memory: the worker reads the store instead.
    const read = await train({ store, executor: tampering(new InProcessExecutor(store), 'f'.repeat(64)), config: local('read') });
    expect(innerGets(store, 'read')).toBe(4);
    expect(Buffer.from(read.weights.buffer).equals(Buffer.from(kept.weights.buffer))).toBe(true);
  });
});
