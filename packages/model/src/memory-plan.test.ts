import { describe, expect, it } from 'vitest';
import { modelConfig } from './config.js';
import { WASM_HEAP_BUDGET_BYTES, WASM_HEAP_LIMIT_BYTES, planStepMemory, stepHeapBytes, stepSeconds } from './memory-plan.js';

const MiB = 2 ** 20;

describe('memory plan of a training step on the wasm heap', () => {
  it('estimates the heap measured on this project (paper preset and variants, 2026-12-04): at most 5% under it (the dangerous side), at most 25% over', () => {
    // [overrides, samples, atoms, layers recomputed (of 8), heap measured after the step in MiB (it never shrinks)]
    const measured: Array<[object, number, number, number, number]> = [
      [{}, 1, 256, 0, 2572],
      [{}, 1, 1024, 0, 2664],
      [{}, 1, 256, 8, 787],
      [{}, 2, 1024, 8, 1115],
      [{}, 8, 2048, 8, 3080],
      [{ depth: 2 }, 4, 256, 0, 2280],
      [{ depth: 4 }, 2, 256, 0, 2370],
      [{ depth: 2, numLatents: 256 }, 4, 256, 0, 1164],
      [{ depth: 2, latentDim: 256 }, 4, 256, 0, 1313],
    ];
    for (const [over, B, N, r, heap] of measured) {
      const est = stepHeapBytes(modelConfig('paper', over), B, N, r) / MiB;
      const what = `${JSON.stringify(over)} ${B} x ${N}, ${r} recomputed: estimate ${est.toFixed(0)} MiB, measured ${heap}`;
      expect(est, what).toBeGreaterThan(0.95 * heap);
      expect(est, what).toBeLessThan(1.25 * heap);
    }
  });

  it('with the fused native GEGLU gate: the smaller fit, within the same bounds of the heaps measured with it (2026-12-05)', () => {
    const measured: Array<[object, number, number, number, number]> = [
      [{}, 1, 256, 0, 1688],
      [{}, 1, 1024, 0, 1764],
      [{}, 1, 256, 8, 681],
      [{ depth: 2 }, 4, 256, 0, 1412],
      [{ depth: 4 }, 2, 256, 0, 1500],
      [{ depth: 2, numLatents: 256 }, 4, 256, 0, 677],
      [{ depth: 2, latentDim: 256 }, 4, 256, 0, 866],
    ];
    for (const [over, B, N, r, heap] of measured) {
      const est = stepHeapBytes(modelConfig('paper', over), B, N, r, { fusedGate: true }) / MiB;
      const what = `fused ${JSON.stringify(over)} ${B} x ${N}, ${r} recomputed: estimate ${est.toFixed(0)} MiB, measured ${heap}`;
      expect(est, what).toBeGreaterThan(0.95 * heap);
      expect(est, what).toBeLessThan(1.25 * heap);
    }
    // The fused gate's plan of the paper step at 2 x 1024: the whole batch, plain.
    expect(planStepMemory(modelConfig('paper'), 2, 1024, { fusedGate: true })).toMatchObject({ recomputedLayers: 0, microBatch: 2 });
    expect(planStepMemory(modelConfig('paper'), 4, 1024, { fusedGate: true, microBatch: 4 })).toMatchObject({ recomputedLayers: 4 });
  });

  it('keeps the plain step when it fits (small preset, and the paper preset at 1 x 512)', () => {
    expect(planStepMemory(modelConfig('small'), 8, 1024)).toMatchObject({ recomputedLayers: 0, microBatch: 8 });
    expect(planStepMemory(modelConfig('paper'), 1, 512)).toMatchObject({ recomputedLayers: 0, microBatch: 1 });
  });

  it('fits paper 2 x 1024 and 8 x 2048 (aborted before): few recomputed layers rather than a pass more, many rather split', () => {
    const p = planStepMemory(modelConfig('paper'), 2, 1024);
    expect(p).toMatchObject({ recomputedLayers: 3, microBatch: 2 });
    expect(p.plainBytes).toBeGreaterThan(WASM_HEAP_LIMIT_BYTES);
    expect(planStepMemory(modelConfig('paper'), 8, 2048)).toMatchObject({ recomputedLayers: 7, microBatch: 8 });
    // With the fused gate the plain step of 2 samples fits: 4 passes of 2 beat 7 of 8 layers recomputed (measured 20.7 vs 24.7 s).
    expect(planStepMemory(modelConfig('paper'), 8, 2048, { fusedGate: true })).toMatchObject({ recomputedLayers: 0, microBatch: 2 });
  });

  it('weighs recomputation against micro-batches by the estimated step time: the whole batch wins when few layers need recomputing', () => {
    const cfg = modelConfig('paper');
    const whole = planStepMemory(cfg, 2, 4096, { fusedGate: true });
    expect(whole).toMatchObject({ recomputedLayers: 1, microBatch: 2 });
    expect(stepSeconds(cfg, 2, 4096, 2, 1)).toBeLessThan(stepSeconds(cfg, 2, 4096, 1, 0));
    const split = planStepMemory(cfg, 8, 2048, { fusedGate: true });
    expect(stepSeconds(cfg, 8, 2048, split.microBatch, split.recomputedLayers)).toBeLessThan(stepSeconds(cfg, 8, 2048, 8, 7));
    // One sample cannot be split: recomputation is the only way.
    expect(planStepMemory(cfg, 1, 8192)).toMatchObject({ recomputedLayers: 1, microBatch: 1 });
  });

  it('recomputes only as many layers as the budget needs: the fewest that fit, never the last one (given micro-batches)', () => {
    const cfg = modelConfig('paper');
    for (const [B, N] of [
      [2, 512],
      [2, 1024],
      [3, 1024],
      [4, 1024],
      [8, 2048],
    ] as const) {
      const p = planStepMemory(cfg, B, N, { microBatch: B });
      expect(p.microBatch).toBe(B);
      expect(p.recomputedLayers).toBeGreaterThan(0);
      expect(p.recomputedLayers).toBeLessThan(cfg.depth);
      expect(p.bytes).toBeLessThanOrEqual(WASM_HEAP_BUDGET_BYTES);
      expect(stepHeapBytes(cfg, p.microBatch, N, p.recomputedLayers - 1)).toBeGreaterThan(WASM_HEAP_BUDGET_BYTES);
    }
    expect(planStepMemory(cfg, 2, 1024, { microBatch: 2 }).recomputedLayers).toBe(3);
    expect(planStepMemory(cfg, 8, 2048, { microBatch: 8 }).recomputedLayers).toBe(7);
    // Each recomputed layer lowers the estimate by one layer's intermediates, down to one layer's
    // held at a time; recomputing the last layer as well only adds its input.
    const est = Array.from({ length: cfg.depth + 1 }, (_, r) => stepHeapBytes(cfg, 2, 1024, r));
    for (let r = 1; r < cfg.depth; r++) expect(est[r]).toBeLessThan(est[r - 1]!);
    expect(est[cfg.depth]).toBeGreaterThan(est[cfg.depth - 1]!);
    expect(() => stepHeapBytes(cfg, 2, 1024, cfg.depth + 1)).toThrow(/from 0 to the depth 8/);
  });

  it('evens the passes out; every plan stays within the budget', () => {
    for (const [B, N] of [
      [3, 4096],
      [16, 2048],
      [32, 2048],
      [64, 1024],
    ] as const) {
      for (const fusedGate of [false, true]) {
        const q = planStepMemory(modelConfig('paper'), B, N, { fusedGate });
        expect(q.bytes).toBeLessThanOrEqual(WASM_HEAP_BUDGET_BYTES);
        expect(Math.ceil(B / q.microBatch) * q.microBatch - B).toBeLessThan(Math.ceil(B / q.microBatch));
      }
    }
  });

  it('honours a given micro-batch, and refuses one that cannot fit, or a model whose one sample cannot, naming the limit', () => {
    expect(planStepMemory(modelConfig('paper'), 8, 1024, { microBatch: 2 })).toMatchObject({ microBatch: 2, recomputedLayers: 3 });
    expect(() => planStepMemory(modelConfig('paper'), 64, 2048, { microBatch: 32 })).toThrow(
      /32 sample\(s\) at 2048 atoms needs about .* GiB .* of its 4 GiB heap; lower train.microBatch/,
    );
    const huge = modelConfig('paper', { numLatents: 4096, latentDim: 1024 });
    expect(() => planStepMemory(huge, 4, 512)).toThrow(
      /1 sample\(s\) at 512 atoms needs about [\d.]+ GiB of heap even with every layer recomputed, over the [\d.]+ GiB a CPU \(wasm\) worker can use of its 4 GiB heap; lower train.maxAtoms, or use a smaller model/,
    );
  });
});
