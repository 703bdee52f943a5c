import * as tf from '@atomizer/model/tfjs';
import { gradients, initParams, modelConfig, predict, selectBackend, type ModelConfig } from '@atomizer/model';
import {
  BandStatsAccumulator,
  SeededRng,
  atomize,
  dataPath,
  listBigEarthNetPatches,
  makeBatch,
  readBigEarthNetPatch,
  readStatlog,
  subsampleAtoms,
  type AtomBatch,
  type Sample,
} from '@atomizer/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon, nativeDisabledByEnv } from './addon.js';

// A whole training gradient (@atomizer/model gradients()) on the native kernels
// gives the same bits whatever the process computed before, as the distributed
// engine needs (the same job in any worker process): before each gradient the
// heap is shifted by live dummy tensors of odd sizes, and by other gradients and
// predictions computed and freed in between, so every tensor of the pass lands
// at another address, as it does in another worker with another job history.
// Two workloads: the small preset on real BigEarthNet patches, and the tiny
// preset on real Statlog rows (the integration suite's run).

// The same switches as selectBackend's (ATOMIZER_NATIVE=0, ATOMIZER_NATIVE_ADDON).
const load = loadAddon();

interface Case {
  cfg: ModelConfig;
  batch: AtomBatch;
  labels: number[][];
  other: { batch: AtomBatch; labels: number[][] };
}

function batchOf(all: Sample[], count: number, atoms: (i: number) => number, seed: number): { batch: AtomBatch; labels: number[][] } {
  const acc = new BandStatsAccumulator();
  for (const s of all) acc.add(s);
  const stats = new Map(acc.result().map((st) => [st.key, st]));
  const samples = Array.from({ length: count }, (_, i) => all[i % all.length]!);
  const sets = samples.map((s, i) => subsampleAtoms(atomize(s, { stats, normalize: 'zscore' }).atoms, atoms(i), SeededRng.derive(seed, i)));
  return { batch: makeBatch(sets), labels: samples.map((s) => [...s.labels]) };
}

async function bigEarthNetCase(): Promise<Case> {
  const folders = await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's2'));
  const all = await Promise.all(folders.map((f) => readBigEarthNetPatch(f)));
  return { cfg: modelConfig('small'), ...batchOf(all, 4, (i) => 200 - 3 * i, 5), other: batchOf(all, 2, () => 77, 6) };
}

async function statlogCase(): Promise<Case> {
  const items = await readStatlog(dataPath('statlog', 'statlog_landsat_satellite.csv'));
  const all = items.slice(0, 60).map((it) => it.sample);
  return {
    cfg: modelConfig('tiny', { numClasses: 6 }),
    ...batchOf(all, 24, (i) => 36 - (i % 5), 7),
    other: batchOf(all.slice(24), 30, () => 36, 8),
  };
}

/** Heap shifts before each gradient: sizes (floats) of dummy tensors kept alive during it. */
const SHIFTS: readonly (readonly number[])[] = [
  [],
  [1],
  [300_001],
  [7, 150_003],
  [1_000_005],
  [3, 5, 77_777],
  [2],
  [5, 3, 1],
  [123_457],
  [33, 65_537],
];

/** The first gradient that differs from the unshifted one, described; null when all have the same bits. */
function mismatchOverShifts(c: Case, w: Float32Array): string | null {
  let ref: { grads: Uint32Array; loss: number } | undefined;
  for (const [i, shift] of SHIFTS.entries()) {
    const dummies = shift.map((n) => tf.fill([n], 0.25));
    // other work in between leaves other holes in the heap (a worker runs train and eval jobs)
    if (i % 3 === 1) gradients(w, c.other.batch, c.other.labels, c.cfg, { seed: i });
    if (i % 3 === 2) predict(w, c.other.batch, c.cfg);
    const g = gradients(w, c.batch, c.labels, c.cfg, { seed: 3 });
    tf.dispose(dummies);
    const bits = new Uint32Array(g.grads.buffer.slice(0));
    if (ref === undefined) {
      ref = { grads: bits, loss: g.loss };
      continue;
    }
    let first = -1;
    let count = 0;
    for (let j = 0; j < bits.length; j++) {
      if (bits[j] !== ref.grads[j]) {
        if (first < 0) first = j;
        count++;
      }
    }
    if (first >= 0 || g.loss !== ref.loss) {
      return `shift [${shift}]: ${count} of ${bits.length} gradient elements differ${first >= 0 ? `, first at ${first}: ${g.grads[first]} vs ${new Float32Array(ref.grads.buffer)[first]}` : ''}; loss ${g.loss} vs ${ref.loss}`;
    }
  }
  return null;
}

afterAll(async () => {
  await selectBackend('wasm', undefined, { native: false });
});

describe('a model gradient on the native kernels', () => {
  it('has the same bits at every heap layout (small preset, BigEarthNet; tiny preset, Statlog)', async () => {
    const info = await selectBackend('wasm', undefined, {});
    if (!load.ok) {
      expect(info.native).toBe(false);
      if (!nativeDisabledByEnv())
        expect(process.env.ATOMIZER_NATIVE_REQUIRED, `native addon required but unusable: ${load.reason}`).not.toBe('1');
      return;
    }
    expect(info.native, info.detail).toBe(true);
    for (const [name, c] of [
      ['small/BigEarthNet', await bigEarthNetCase()],
      ['tiny/Statlog', await statlogCase()],
    ] as const) {
      expect(mismatchOverShifts(c, initParams(c.cfg, 42)), name).toBeNull();
    }
  }, 120_000);
});
