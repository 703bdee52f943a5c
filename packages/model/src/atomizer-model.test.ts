import * as tf from './tfjs.js';
import { SeededRng, type AtomBatch } from '@atomizer/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { atomizerForward, dropAtoms, paramTensors } from './atomizer-model.js';
import { selectBackend } from './backend.js';
import { modelConfig, type ModelConfig } from './config.js';
import { initParams } from './init.js';
import { Adam } from './optimizer.js';
import { gradients, paramTableOf, predict } from './training.js';
import { bigEarthNetBatch, type RealBatch } from './testing/bigearthnet-batch.js';

/** The same batch with sample s's atoms permuted by a seeded shuffle. */
function shuffleSample(b: AtomBatch, s: number, seed: number): AtomBatch {
  const N = b.maxAtoms;
  const perm = Array.from({ length: N }, (_, i) => i);
  const rng = new SeededRng(seed);
  for (let i = N - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const out: AtomBatch = { ...b, value: b.value.slice(), band: b.band.slice(), x: b.x.slice(), y: b.y.slice(), mask: b.mask.slice() };
  perm.forEach((src, dst) => {
    for (const f of ['value', 'band', 'x', 'y', 'mask'] as const) out[f][s * N + dst] = b[f][s * N + src]!;
  });
  return out;
}

/** The batch with N grown by `extra` padded slots per sample, filled with garbage behind mask 0. */
function padMore(b: AtomBatch, extra: number): AtomBatch {
  const N = b.maxAtoms;
  const N2 = N + extra;
  const M = b.batchSize * N2;
  const out: AtomBatch = {
    ...b,
    maxAtoms: N2,
    value: new Float32Array(M).fill(7),
    band: new Int32Array(M).fill(2),
    x: new Float32Array(M).fill(-300),
    y: new Float32Array(M).fill(450),
    mask: new Float32Array(M),
  };
  for (let s = 0; s < b.batchSize; s++) {
    for (const f of ['value', 'band', 'x', 'y', 'mask'] as const) out[f].set(b[f].subarray(s * N, (s + 1) * N), s * N2);
  }
  // The padding that makeBatch left gets garbage too (mask stays 0).
  for (let i = 0; i < M; i++) if (out.mask[i] === 0) out.value[i] = 9;
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`Atomizer network on ${backend}`, () => {
    let real: RealBatch;
    let cfg: ModelConfig;
    let w: Float32Array;
    beforeAll(async () => {
      await selectBackend(backend);
      // Two patches of different sizes: sample 1 is padded.
      real = await bigEarthNetBatch(2, [300, 220], 11, 3);
      cfg = modelConfig('small');
      w = initParams(cfg, 3);
    });

    it("is invariant to the order of a sample's atoms (within 1e-5)", () => {
      const base = predict(w, real.batch, cfg);
      expect(base.length).toBe(2 * 19);
      const shuffled = predict(w, shuffleSample(shuffleSample(real.batch, 0, 5), 1, 6), cfg);
      expect(maxDiff(base, shuffled)).toBeLessThan(1e-5);
    });

    it('ignores padded atoms, whatever they hold and however many there are', () => {
      const base = predict(w, real.batch, cfg);
      const padded = predict(w, padMore(real.batch, 37), cfg);
      expect(maxDiff(base, padded)).toBeLessThan(1e-5);
      // ...while a real atom's value does change the output (the check above can fail).
      const changed = { ...real.batch, value: real.batch.value.slice() };
      for (let i = 0; i < 50; i++) changed.value[i] = 3;
      expect(maxDiff(base, predict(w, changed, cfg))).toBeGreaterThan(1e-5);
    });

    it('full-model gradient equals finite differences (tiny preset)', () => {
      const tiny = modelConfig('tiny', { numClasses: 19 });
      const wt = initParams(tiny, 9);
      // Larger weights than the 0.02 init so every path carries signal.
      for (let i = 0; i < wt.length; i++) wt[i] = wt[i]! * 10 + (wt[i] === 1 ? -9 : 0);
      const small = sliceAtoms(real.batch, 48);
      const g = gradients(wt, small, real.labels, tiny);
      const table = paramTableOf(tiny);
      const rng = new SeededRng(21);
      const eps = 3e-3;
      let worst = 0;
      let where = '';
      for (const e of table.entries) {
        const i = e.offset + rng.int(e.size);
        const at = (delta: number) => {
          const v = wt.slice();
          v[i]! += delta;
          return hostBce(predict(v, small, tiny), real.labels, tiny.numClasses);
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        const analytic = g.grads[i] as number;
        const err = Math.abs(numeric - analytic) / (Math.abs(numeric) + Math.abs(analytic) + 1e-3);
        if (err > worst) {
          worst = err;
          where = `${e.name}[${i - e.offset}]: analytic ${analytic}, numeric ${numeric}`;
        }
      }
      expect(worst, where).toBeLessThan(5e-2);
    });

    it('micro-batch accumulation equals the whole-batch gradient; clipping bounds the norm', () => {
      const whole = gradients(w, real.batch, real.labels, cfg);
      const micro = gradients(w, real.batch, real.labels, cfg, { microBatch: 1 });
      expect(micro.samples).toBe(2);
      expect(micro.loss).toBeCloseTo(whole.loss, 5);
      expect(maxDiff(micro.grads, whole.grads)).toBeLessThan(1e-5 * Math.max(1, whole.gradNorm));
      const clipped = gradients(w, real.batch, real.labels, cfg, { clipNorm: whole.gradNorm / 4 });
      let n = 0;
      for (const v of clipped.grads) n += v * v;
      expect(Math.sqrt(n)).toBeCloseTo(whole.gradNorm / 4, 4);
    });

    it('writes the gradient into a given buffer with the same bits, whole batch or micro-batched, and checks its length', () => {
      const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      for (const microBatch of [undefined, 1]) {
        const fresh = gradients(w, real.batch, real.labels, cfg, { microBatch });
        const out = new Float32Array(fresh.grads.length).fill(7);
        const into = gradients(w, real.batch, real.labels, cfg, { microBatch, out });
        expect(into.grads).toBe(out);
        expect(into.loss).toBe(fresh.loss);
        expect(bits(out).equals(bits(fresh.grads)), `microBatch ${microBatch}`).toBe(true);
      }
      expect(() => gradients(w, real.batch, real.labels, cfg, { out: new Float32Array(3) })).toThrow(
        /out has 3 elements, the model has \d+ parameters/,
      );
    });

    it('token dropout is seeded and training-only', () => {
      const drop = modelConfig('small', { tokenDropout: true, tokenDropoutKeep: 0.5 });
      const table = paramTableOf(drop);
      const run = (training: boolean, seed: number) =>
        tf.tidy(() => {
          const ps = paramTensors(table, w);
          return atomizerForward(ps, real.batch, drop, { training, seed }).dataSync() as Float32Array;
        });
      expect(maxDiff(run(false, 1), predict(w, real.batch, cfg))).toBeLessThan(1e-6);
      expect(maxDiff(run(true, 1), run(true, 1))).toBe(0);
      expect(maxDiff(run(true, 1), run(true, 2))).toBeGreaterThan(1e-6);
      const sub = dropAtoms(real.batch, 0.5, new SeededRng(1));
      expect(sub.maxAtoms).toBe(150);
      let kept1 = 0;
      for (let i = sub.maxAtoms; i < 2 * sub.maxAtoms; i++) kept1 += sub.mask[i]!;
      expect(kept1).toBe(110);
    });

    it('frees every tensor: numTensors is constant over 50 training steps', () => {
      const tiny = modelConfig('tiny', { numClasses: 19, tokenDropout: true });
      const wt = initParams(tiny, 4);
      const adam = new Adam(wt.length);
      const small = sliceAtoms(real.batch, 32);
      const counts: number[] = [];
      for (let step = 0; step < 50; step++) {
        const g = gradients(wt, small, real.labels, tiny, { seed: step });
        adam.update(wt, g.grads, 1e-3);
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts).size).toBe(1);
    });
  });
}

describe('cpu and wasm agree', () => {
  it('same weights, same batch: logits within 1e-4', async () => {
    const { batch } = await bigEarthNetBatch(2, 256, 2);
    const cfg = modelConfig('small');
    const w = initParams(cfg, 5);
    await selectBackend('cpu');
    const cpu = predict(w, batch, cfg);
    await selectBackend('wasm');
    const wasm = predict(w, batch, cfg);
    expect(maxDiff(cpu, wasm)).toBeLessThan(1e-4);
  });
});

/** Mean binary cross-entropy of logits [B*C] against label lists, in float64 (the loss of docs/model.md section 4, written out). */
function hostBce(logits: Float32Array, labels: number[][], C: number): number {
  let sum = 0;
  labels.forEach((ls, b) => {
    for (let c = 0; c < C; c++) {
      const x = logits[b * C + c] as number;
      const t = ls.includes(c) ? 1 : 0;
      // -[t log sigmoid(x) + (1-t) log(1 - sigmoid(x))], in the overflow-free form.
      sum += Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
    }
  });
  return sum / (labels.length * C);
}

/** The first n atom slots of every sample. */
function sliceAtoms(b: AtomBatch, n: number): AtomBatch {
  const N = b.maxAtoms;
  const pick = <T extends Float32Array | Int32Array>(a: T, make: (len: number) => T): T => {
    const out = make(b.batchSize * n);
    for (let s = 0; s < b.batchSize; s++) out.set(a.subarray(s * N, s * N + n), s * n);
    return out;
  };
  return {
    ...b,
    maxAtoms: n,
    value: pick(b.value, (l) => new Float32Array(l)),
    band: pick(b.band, (l) => new Int32Array(l)),
    x: pick(b.x, (l) => new Float32Array(l)),
    y: pick(b.y, (l) => new Float32Array(l)),
    mask: pick(b.mask, (l) => new Float32Array(l)),
  };
}
