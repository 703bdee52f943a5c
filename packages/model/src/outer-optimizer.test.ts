import { describe, expect, it } from 'vitest';
import { OuterOptimizer, outerStep } from './outer-optimizer.js';

describe('OuterOptimizer', () => {
  it('mean adds the averaged delta (FedAvg)', () => {
    const opt = new OuterOptimizer(2, { kind: 'mean' });
    const w = Float32Array.of(1, -1);
    outerStep(opt, w, Float32Array.of(0.5, 0.25));
    expect(Array.from(w)).toEqual([1.5, -0.75]);
  });

  it('momentum and Nesterov follow the hand-computed recurrences', () => {
    // mu = 0.5, lr = 1, delta = 0.5 both rounds, w0 = 1.
    // momentum: b1 = 0.5, w = 1.5; b2 = 0.25 + 0.5 = 0.75, w = 2.25.
    // nesterov: b1 = 0.5, w = 1 + (0.5 + 0.25) = 1.75; b2 = 0.75, w = 1.75 + (0.5 + 0.375) = 2.625.
    const mom = new OuterOptimizer(1, { kind: 'momentum', lr: 1, momentum: 0.5 });
    const nes = new OuterOptimizer(1, { kind: 'nesterov', lr: 1, momentum: 0.5 });
    const wm = Float32Array.of(1);
    const wn = Float32Array.of(1);
    for (let r = 0; r < 2; r++) {
      mom.apply(wm, Float32Array.of(0.5));
      nes.apply(wn, Float32Array.of(0.5));
    }
    expect(wm[0]).toBe(2.25);
    expect(wn[0]).toBe(2.625);
  });

  it('reduces to the mean with zero momentum, and defaults to DiLoCo lr 0.7 / mu 0.9', () => {
    const a = Float32Array.of(0.1, 0.2);
    const b = a.slice();
    new OuterOptimizer(2, { kind: 'nesterov', lr: 1, momentum: 0 }).apply(a, Float32Array.of(0.3, -0.4));
    new OuterOptimizer(2, { kind: 'mean' }).apply(b, Float32Array.of(0.3, -0.4));
    expect(a).toEqual(b);
    const d = new OuterOptimizer(1, { kind: 'nesterov' });
    expect([d.lr, d.momentum]).toEqual([0.7, 0.9]);
  });

  it('restores its momentum buffer exactly', () => {
    const deltas = [0.3, -0.1, 0.2, 0.05].map((v) => Float32Array.of(v, -v / 3));
    const straight = new OuterOptimizer(2, { kind: 'nesterov' });
    const w1 = Float32Array.of(1, 2);
    for (const d of deltas) straight.apply(w1, d);
    const first = new OuterOptimizer(2, { kind: 'nesterov' });
    const w2 = Float32Array.of(1, 2);
    first.apply(w2, deltas[0] as Float32Array);
    first.apply(w2, deltas[1] as Float32Array);
    const resumed = new OuterOptimizer(2, { kind: 'nesterov' });
    resumed.loadTensors(first.toTensors());
    resumed.apply(w2, deltas[2] as Float32Array);
    resumed.apply(w2, deltas[3] as Float32Array);
    expect(resumed.step).toBe(4);
    expect(new Uint8Array(w2.buffer)).toEqual(new Uint8Array(w1.buffer));
    expect(() => new OuterOptimizer(2, { kind: 'momentum' }).loadTensors({})).toThrow(/'outer.step' must be one I64 value/);
  });
});
