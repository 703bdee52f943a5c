import * as tf from './tfjs.js';
import { describe, expect, it } from 'vitest';
import { atomizerForward, paramTensors } from './atomizer-model.js';
import { selectBackend } from './backend.js';
import { modelConfig } from './config.js';
import { forwardFlops, trainingStepFlops } from './flops.js';
import { initParams } from './init.js';
import { atomizerParamTable } from './model-params.js';
import { bigEarthNetBatch } from './testing/bigearthnet-batch.js';

describe('forwardFlops', () => {
  it('counts the tiny preset by hand', () => {
    // tiny: L=4, d=8, depth 2, cross 1x4 (ic=4), self 2x4 (is=8), selfPerCross 1,
    // ffMult 2, 3 classes, default encoding T=84. One sample of N=10 atoms.
    // cross per layer: q 2*4*8*4=256, k+v 2*(2*10*84*4)=13440,
    //   scores + weighted sum 2*(2*4*10*4)=640, out 2*4*4*8=256 -> 14592
    // ff per block (d -> 2*2*8=32 -> gate 16 -> 8): 2*4*8*32=2048 + 2*4*16*8=1024 -> 3072;
    //   two blocks per layer (after cross and after self) -> 6144
    // self per layer: q,k,v 3*(2*4*8*8)=1536, scores + sum 2*(2*4*4*8)=512, out 2*4*8*8=512 -> 2560
    // pool: k,v 2*(2*4*8*8)=1024, query scores + sum 2*(2*4*8)=128; head 2*8*3=48 -> 1200
    const f = forwardFlops(modelConfig('tiny'), 1, 10);
    expect(f.cross).toBe(2 * 14592);
    expect(f.ff).toBe(2 * 6144);
    expect(f.self).toBe(2 * 2560);
    expect(f.poolHead).toBe(1200);
    expect(f.forward).toBe(2 * (14592 + 6144 + 2560) + 1200);
  });

  it('is linear in the batch and the cross-attention grows linearly with the atoms', () => {
    const cfg = modelConfig('small');
    const one = forwardFlops(cfg, 1, 1000);
    const eight = forwardFlops(cfg, 8, 1000);
    expect(eight.forward).toBe(8 * one.forward);
    const twice = forwardFlops(cfg, 1, 2000);
    // Doubling N doubles the N-dependent part (k/v + scores) and leaves the latent-only parts.
    expect(twice.self).toBe(one.self);
    expect(twice.ff).toBe(one.ff);
    const latentOnly = cfg.depth * (2 * 2 * cfg.numLatents * cfg.latentDim * cfg.crossHeads * cfg.crossHeadDim);
    expect(twice.cross - latentOnly).toBe(2 * (one.cross - latentOnly));
  });

  it('counts every layer under weight tying and training as three forwards', () => {
    const tied = modelConfig('small', { weightTying: true });
    const untied = modelConfig('small');
    expect(forwardFlops(tied, 2, 64).forward).toBe(forwardFlops(untied, 2, 64).forward);
    expect(trainingStepFlops(untied, 2, 64)).toBe(3 * forwardFlops(untied, 2, 64).forward);
  });

  it('equals the 2*m*k*n of every matMul kernel the model runs in a forward pass (real BigEarthNet batch)', async () => {
    // Independent of the formula: sum the products tf.profile sees (customGrad
    // wrappers are recorded as 'unnamed scope' beside their kernels: skipped).
    // S2 batches hold no channel band, so the channel-vector product does not run.
    await selectBackend('cpu');
    for (const [preset, B, N] of [
      ['tiny', 2, 24],
      ['small', 2, 40],
    ] as const) {
      const cfg = modelConfig(preset);
      const { batch } = await bigEarthNetBatch(B, N);
      const params = paramTensors(atomizerParamTable(cfg), initParams(cfg, 1));
      const info = await tf.profile(() => tf.tidy(() => void atomizerForward(params, batch, cfg).dataSync()));
      tf.dispose(Object.values(params));
      let counted = 0;
      for (const k of info.kernels) {
        if (k.name !== 'BatchMatMul' && k.name !== '_FusedMatMul') continue;
        const [a, b] = k.inputShapes as [number[], number[]];
        const batchDims = a.slice(0, -2).reduce((x, y) => x * y, 1);
        counted += 2 * batchDims * a[a.length - 2]! * a[a.length - 1]! * b[b.length - 1]!;
      }
      expect(counted, preset).toBe(forwardFlops(cfg, B, N).forward);
    }
  });
});
