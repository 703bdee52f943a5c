import { describe, expect, it } from 'vitest';
import { Adam } from './optimizer.js';
import { ParamTable } from './param-table.js';

/** Deterministic pseudo-gradients without a PRNG: smooth functions of (index, step). */
function fakeGrads(n: number, step: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(0.7 * i + 1.3 * step) * (1 + (i % 5)));
}

describe('Adam', () => {
  it('takes two hand-computed steps (PyTorch Adam update)', () => {
    // p = 1, lr = 0.1, betas (0.9, 0.999), eps 1e-8, no decay.
    // Step 1, g = 0.5: m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25 -> p = 1 - 0.1 * 0.5/(0.5 + 1e-8) = 0.9.
    // Step 2, g = -0.25: m = 0.9*0.05 - 0.025 = 0.02, v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225;
    // p = 0.9 - (0.1/0.19) * 0.02 / (sqrt(0.00031225)/sqrt(0.001999) + 1e-8) = 0.9 - 0.0266337 = 0.8733663.
    // (torch.optim.Adam gives 0.90000004 and 0.87336636 in float32.)
    const opt = new Adam(1, { kind: 'adam' });
    const p = Float32Array.of(1);
    opt.update(p, Float32Array.of(0.5), 0.1);
    expect(p[0]).toBeCloseTo(0.9, 6);
    opt.update(p, Float32Array.of(-0.25), 0.1);
    expect(p[0]).toBeCloseTo(0.8733663, 6);
    expect(opt.step).toBe(2);
  });

  it('AdamW decays decoupled from the gradient, only inside the decay ranges', () => {
    // Zero gradient: m = v = 0, so the Adam part is 0 and only the decay acts: p *= 1 - lr*wd = 1 - 0.5*0.1.
    const table = new ParamTable([
      { name: 'latents', shape: [2, 1] },
      { name: 'w.weight', shape: [1, 2] },
      { name: 'w.bias', shape: [1] },
    ]);
    const opt = new Adam(table.size, { kind: 'adamw', weightDecay: 0.1, decayRanges: table.ranges() });
    const p = Float32Array.of(2, 2, 2, 2, 2);
    opt.update(p, new Float32Array(5), 0.5);
    expect(Array.from(p)).toEqual([2, 2, 1.9, 1.9, 2].map((v) => Math.fround(v)));
  });

  it('Adam (coupled L2) puts the decay through the moments instead', () => {
    // g' = 0 + 0.1 * 2 = 0.2; first Adam step moves by lr * g'/|g'| = 0.5: 2 -> 1.5 (AdamW would give 1.9).
    const opt = new Adam(1, { kind: 'adam', weightDecay: 0.1 });
    const p = Float32Array.of(2);
    opt.update(p, Float32Array.of(0), 0.5);
    expect(p[0]).toBeCloseTo(1.5, 6);
  });

  it('continues bit-exactly after a save/restore through named tensors', () => {
    const n = 257;
    const init = Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 0.1);
    const lrs = (t: number): number => 1e-2 * (1 - t / 20);
    const straight = new Adam(n, { weightDecay: 0.05, decayRanges: [{ offset: 10, length: 200 }] });
    const a = init.slice();
    for (let t = 0; t < 10; t++) straight.update(a, fakeGrads(n, t), lrs(t));

    const first = new Adam(n, { weightDecay: 0.05, decayRanges: [{ offset: 10, length: 200 }] });
    const b = init.slice();
    for (let t = 0; t < 4; t++) first.update(b, fakeGrads(n, t), lrs(t));
    const saved = first.toTensors();
    first.update(b.slice(), fakeGrads(n, 99), 1); // the saved tensors are copies: later steps must not leak in
    const resumed = new Adam(n, { weightDecay: 0.05, decayRanges: [{ offset: 10, length: 200 }] });
    resumed.loadTensors(saved);
    expect(resumed.step).toBe(4);
    for (let t = 4; t < 10; t++) resumed.update(b, fakeGrads(n, t), lrs(t));

    expect(new Uint8Array(b.buffer)).toEqual(new Uint8Array(a.buffer));
    expect(new Uint8Array(resumed.getState().m.buffer)).toEqual(new Uint8Array(straight.getState().m.buffer));
    expect(new Uint8Array(resumed.getState().v.buffer)).toEqual(new Uint8Array(straight.getState().v.buffer));
  });

  it('rejects wrong sizes, overlapping decay ranges and incomplete state', () => {
    const opt = new Adam(3);
    expect(() => opt.update(new Float32Array(3), new Float32Array(2), 0.1)).toThrow(/grads have 2 elements, optimizer has 3/);
    expect(
      () =>
        new Adam(10, {
          decayRanges: [
            { offset: 0, length: 5 },
            { offset: 4, length: 2 },
          ],
        }),
    ).toThrow(/overlap at offset 4/);
    expect(() => new Adam(10, { decayRanges: [{ offset: 8, length: 5 }] })).toThrow(/outside the 10 parameters/);
    const state = opt.toTensors();
    delete state['adam.v'];
    expect(() => opt.loadTensors(state)).toThrow(/missing tensor\(s\) adam.v/);
  });
});
