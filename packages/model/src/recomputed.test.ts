import * as tf from './tfjs.js';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { modelConfig, type ModelConfigInput } from './config.js';
import { initParams } from './init.js';
import { recomputed } from './recomputed.js';
import { gradients } from './training.js';
import { bigEarthNetBatch } from './testing/bigearthnet-batch.js';

// Layers recomputed in the backward pass (recomputedLayers: all of them, or only the first
// few as the memory plan picks) must give the gradient of the plain network bit for bit,
// leave no tensor behind, and leave the engine's tape usable.

describe('activation checkpointing (wasm)', () => {
  // [name, config overrides, numbers of (first) layers recomputed]
  const cases: Array<[string, Partial<ModelConfigInput>, number[]]> = [
    ['small', {}, [2, 1]],
    ['small with token dropout', { tokenDropout: true }, [2, 1]],
    ['small with tied layers, depth 3', { weightTying: true, depth: 3 }, [3, 2, 1]],
  ];
  for (const [name, over, counts] of cases) {
    it(`${name}: the same loss and gradient bits with and without recomputation (${counts.join(', ')} layers), no tensor left`, async () => {
      await selectBackend('wasm');
      const cfg = modelConfig('small', over);
      const w = initParams(cfg, 42);
      const { batch, labels } = await bigEarthNetBatch(3, 128, 42);
      const plain = gradients(w, batch, labels, cfg, { seed: 5 });
      for (const recomputedLayers of counts) {
        const before = tf.memory().numTensors;
        const ckpt = gradients(w, batch, labels, cfg, { seed: 5, recomputedLayers });
        expect(tf.memory().numTensors).toBe(before);
        expect(ckpt.loss, `${recomputedLayers} recomputed`).toBe(plain.loss);
        expect(Buffer.from(ckpt.grads.buffer).equals(Buffer.from(plain.grads.buffer)), `${recomputedLayers} recomputed`).toBe(true);
      }
      // The tape is the engine's again: a plain gradient afterwards is unchanged.
      const again = gradients(w, batch, labels, cfg, { seed: 5 });
      expect(Buffer.from(again.grads.buffer).equals(Buffer.from(plain.grads.buffer))).toBe(true);
    }, 120_000);
  }

  it('recomputed(f) has the gradient of f, inside an outer gradient that uses its own tape too', async () => {
    await selectBackend('wasm');
    const f = (xs: tf.Tensor[]) => tf.sum(tf.mul(tf.sin(xs[0]!), xs[1]!));
    const g = recomputed(f);
    const x = tf.tensor1d([0.1, 0.2, 0.3]);
    const y = tf.tensor1d([1, 2, 3]);
    const outer = (h: (xs: tf.Tensor[]) => tf.Tensor) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.add(tf.square(h([a, b])), tf.sum(tf.exp(a))))([x, y]);
    const want = outer(f).map((t) => Array.from(t.dataSync()));
    const got = outer(g).map((t) => Array.from(t.dataSync()));
    expect(got).toEqual(want);
  });
});
