import * as tf from './tfjs.js';
import { nativeKernelCounts } from '@atomizer/wasm-native';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { modelConfig } from './config.js';
import { geglu } from './geglu.js';
import { initParams } from './init.js';
import { gradients } from './training.js';
import { bigEarthNetBatch } from './testing/bigearthnet-batch.js';
import { seededTensor } from './testing/grad-check.js';

// The fused native GEGLU gate (AtomizerGegluGate/-Grad of @atomizer/wasm-native, with the
// bias of its product) replaces the bias Add and the gate of ~20 kernels: it must give
// the bits of that chain run on the same (native) kernels, forward and backward, for the
// feed-forward alone and for a whole model gradient. Skipped where the addon is not built.

/** Runs `f` with the fused gate unregistered (the model falls back to the unfused chain). */
function unfused<T>(f: () => T): T {
  const fwd = tf.getKernel('AtomizerGegluGate', 'wasm');
  if (fwd === undefined) throw new Error('the fused gate is not registered');
  tf.unregisterKernel('AtomizerGegluGate', 'wasm');
  try {
    return f();
  } finally {
    tf.registerKernel(fwd);
  }
}

function bits(a: Float32Array | ArrayLike<number>): Buffer {
  return Buffer.from(Float32Array.from(a as ArrayLike<number>).buffer);
}

const native = await selectBackend('wasm');

describe.skipIf(!native.native)('fused native GEGLU gate', () => {
  it('the bits of the unfused chain: output and every gradient, rank 2 and 3, both GELU tails', async () => {
    await selectBackend('wasm');
    for (const [shape, mult] of [
      [[7, 6], 2],
      [[2, 5, 8], 4],
      [[1, 64, 32], 4],
    ] as const) {
      const d = shape[shape.length - 1]!;
      const run = () =>
        tf.tidy(() => {
          const x = tf.mul(seededTensor([...shape], 1), 3);
          const p = {
            w1: tf.mul(seededTensor([d, 2 * mult * d], 2), 2) as tf.Tensor2D,
            b1: seededTensor([2 * mult * d], 3) as tf.Tensor1D,
            w2: seededTensor([mult * d, d], 4) as tf.Tensor2D,
            b2: seededTensor([d], 5) as tf.Tensor1D,
          };
          const R = seededTensor([...shape], 6);
          const y = geglu(x, p);
          const g = tf.grads((xi: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) =>
            tf.sum(tf.mul(geglu(xi, { w1: w1 as tf.Tensor2D, b1: b1 as tf.Tensor1D, w2: w2 as tf.Tensor2D, b2: b2 as tf.Tensor1D }), R)),
          )([x, p.w1, p.b1, p.w2, p.b2]);
          return [y, ...g].map((t) => t.dataSync() as Float32Array);
        });
      const fused = run();
      const chain = unfused(run);
      ['y', 'dx', 'dw1', 'db1', 'dw2', 'db2'].forEach((name, i) => {
        expect(bits(fused[i]!).equals(bits(chain[i]!)), `${name} of [${shape}] x ${mult}`).toBe(true);
      });
    }
  });

  it('a whole model gradient has the same bits, and no tensor is left behind', async () => {
    await selectBackend('wasm');
    const cfg = modelConfig('small');
    const w = initParams(cfg, 42);
    const { batch, labels } = await bigEarthNetBatch(3, 128, 42);
    const before = tf.memory().numTensors;
    const calls = nativeKernelCounts()['AtomizerGegluGateGrad']?.native ?? 0;
    const fused = gradients(w, batch, labels, cfg, { seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(nativeKernelCounts()['AtomizerGegluGateGrad']?.native).toBe(calls + cfg.depth * (1 + cfg.selfPerCross)); // one per feed-forward
    const chain = unfused(() => gradients(w, batch, labels, cfg, { seed: 1 }));
    expect(fused.loss).toBe(chain.loss);
    expect(bits(fused.grads).equals(bits(chain.grads))).toBe(true);
  });

  it('refuses an odd or mismatched width, naming the shapes', async () => {
    await selectBackend('wasm');
    tf.tidy(() => {
      expect(() => tf.engine().runKernel('AtomizerGegluGate', { x: tf.zeros([2, 5]), bias: tf.zeros([5]) }, {})).toThrow(
        /AtomizerGegluGate: float32 x \[\.\.\., 2H\] and bias of 2H elements expected; got x \[2,5\]/,
      );
      expect(() => tf.engine().runKernel('AtomizerGegluGate', { x: tf.zeros([2, 6]), bias: tf.zeros([4]) }, {})).toThrow(/bias \[4\]/);
    });
  });
});
