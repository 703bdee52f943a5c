import { describe, expect, it } from 'vitest';
import { GradientAccumulator, accumulateGradients } from './gradient-accumulator.js';

describe('gradient accumulation', () => {
  it('weights each part by its sample count', () => {
    // Means [1, 2] over 1 sample and [4, -1] over 3: (1*1 + 3*4)/4 = 3.25, (1*2 - 3*1)/4 = -0.25;
    // losses 1 and 2 -> (1 + 6)/4 = 1.75.
    const r = accumulateGradients([
      { grads: Float32Array.of(1, 2), samples: 1, loss: 1 },
      { grads: Float32Array.of(4, -1), samples: 3, loss: 2 },
    ]);
    expect(Array.from(r.grads)).toEqual([3.25, -0.25]);
    expect(r.samples).toBe(4);
    expect(r.loss).toBe(1.75);
  });

  it('sums in float64: small parts are not swallowed by a large one', () => {
    // 2^24 plus 1000 ones: in float32 every +1 rounds back to 2^24 (ties to even),
    // in float64 the sum is 16778216 and the mean 16778216/1001 = 16761.4545...
    // (a float32 running sum would give 16777216/1001 = 16760.4555).
    const acc = new GradientAccumulator(1);
    acc.add({ grads: Float32Array.of(2 ** 24), samples: 1 });
    for (let i = 0; i < 1000; i++) acc.add({ grads: Float32Array.of(1), samples: 1 });
    const r = acc.result();
    expect(r.grads[0]).toBeCloseTo(16761.4545, 2);
    expect(r.loss).toBeNaN(); // no part gave a loss
    acc.reset();
    expect(acc.samples).toBe(0);
    expect(() => acc.result()).toThrow(/no samples accumulated/);
  });

  it('takeMean writes the same bits over the sum, then refuses to add until reset', () => {
    const parts = Array.from({ length: 5 }, (_, j) => ({
      grads: Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i * 7.3 + j) * 10 ** (j - 2)),
      samples: j + 1,
      loss: j,
    }));
    const a = new GradientAccumulator(1001);
    for (const p of parts) a.add(p);
    const want = accumulateGradients(parts);
    const got = a.takeMean();
    expect(Buffer.from(got.grads.buffer, got.grads.byteOffset, got.grads.byteLength).equals(Buffer.from(want.grads.buffer))).toBe(true);
    expect(got.samples).toBe(want.samples);
    expect(() => a.add(parts[0]!)).toThrow(/reset\(\) before adding/);
    a.reset();
    a.add(parts[0]!);
    expect(Array.from(a.result().grads)).toEqual(Array.from(parts[0]!.grads));
  });

  it('names the part with the wrong size', () => {
    const acc = new GradientAccumulator(3);
    expect(() => acc.add({ grads: new Float32Array(2), samples: 4 }, 'job 000007')).toThrow(/Gradient job 000007: 2 elements, expected 3/);
  });
});
