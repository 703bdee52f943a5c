import * as tf from './tfjs.js';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { modelConfig } from './config.js';
import { initParams } from './init.js';
import { Adam } from './optimizer.js';
import { bigEarthNetBatch } from './testing/bigearthnet-batch.js';
import { gradients, paramTableOf } from './training.js';

// The network, the optimizer and the checkpoint format together: training
// that stops, saves, reloads and continues gives the same weights, bit for bit,
// as training that never stopped, and no tfjs tensor is left behind by the
// save/load cycle (tfjs leaks are a known problem: every step must free what it makes).

describe('checkpoint resume through the network (tiny preset, real BigEarthNet atoms, wasm)', () => {
  it('continues bit-exactly after save/load and keeps tf.memory().numTensors constant', async () => {
    await selectBackend('wasm');
    const cfg = modelConfig('tiny', { numClasses: 19 });
    const table = paramTableOf(cfg);
    const { batch, labels } = await bigEarthNetBatch(3, 128, 7);
    const lr = 1e-3;
    const step = (w: Float32Array, adam: Adam) => {
      const g = gradients(w, batch, labels, cfg);
      adam.update(w, g.grads, lr);
      return g.loss;
    };

    // Reference: 8 uninterrupted steps.
    const ref = initParams(cfg, 3);
    const refAdam = new Adam(ref.length, { decayRanges: table.ranges() });
    step(ref, refAdam); // first call builds and caches whatever tfjs keeps alive
    const tensors = tf.memory().numTensors;
    for (let i = 1; i < 8; i++) step(ref, refAdam);
    expect(tf.memory().numTensors).toBe(tensors);

    // 3 steps, save, load into fresh objects, 5 more steps.
    const w = initParams(cfg, 3);
    const adam = new Adam(w.length, { decayRanges: table.ranges() });
    for (let i = 0; i < 3; i++) step(w, adam);
    const bytes = saveCheckpoint({ weights: table.toTensors(w), optimizerState: adam.toTensors(), meta: { round: '3' } });
    const loaded = loadCheckpoint(bytes, 'resume-test');
    expect(loaded.meta.round).toBe('3');
    const w2 = table.fromTensors(loaded.weights);
    const adam2 = new Adam(w2.length, { decayRanges: table.ranges() });
    adam2.loadTensors(loaded.optimizerState);
    expect(tf.memory().numTensors).toBe(tensors);
    for (let i = 3; i < 8; i++) step(w2, adam2);
    expect(tf.memory().numTensors).toBe(tensors);

    expect(Buffer.from(w2.buffer, w2.byteOffset, w2.byteLength).equals(Buffer.from(ref.buffer, ref.byteOffset, ref.byteLength))).toBe(true);
  });
});
