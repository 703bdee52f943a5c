import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Adam } from './optimizer.js';
import { OuterOptimizer } from './outer-optimizer.js';
import { ParamTable } from './param-table.js';
import { encodeSafetensors } from './safetensors.js';

const table = new ParamTable([
  { name: 'latents', shape: [4, 8] },
  { name: 'cross.q.weight', shape: [8, 8] },
  { name: 'cross.out.bias', shape: [8] },
  { name: 'head.weight', shape: [8, 3] },
]);

const grads = (step: number): Float32Array =>
  Float32Array.from({ length: table.size }, (_, i) => Math.sin(0.37 * i + step) * 0.5 + Math.cos(step * i) * 1e-3);

describe('checkpoint', () => {
  it('resumes bit-exactly: 8 steps == 3 steps + save to disk + load + 5 steps', async () => {
    const init = Float32Array.from({ length: table.size }, (_, i) => Math.cos(i * 1.7) * 0.02);
    const opts = { weightDecay: 0.05, decayRanges: table.ranges() };
    const lr = (t: number): number => (3e-3 * (t + 1)) / 8;

    const straight = new Adam(table.size, opts);
    const w1 = init.slice();
    for (let t = 0; t < 8; t++) straight.update(w1, grads(t), lr(t));

    const first = new Adam(table.size, opts);
    const w2 = init.slice();
    for (let t = 0; t < 3; t++) first.update(w2, grads(t), lr(t));
    const outer = new OuterOptimizer(table.size, { kind: 'nesterov' });
    outer.apply(
      new Float32Array(table.size),
      Float32Array.from({ length: table.size }, (_, i) => i * 1e-4),
    );
    const bytes = saveCheckpoint({
      weights: table.toTensors(w2),
      optimizerState: { ...first.toTensors(), ...outer.toTensors() },
      meta: { run: 'demo', round: '3' },
    });
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-ckpt-'));
    try {
      await writeFile(join(dir, 'ckpt.safetensors'), bytes);
      const loaded = loadCheckpoint(new Uint8Array(await readFile(join(dir, 'ckpt.safetensors'))), 'ckpt.safetensors');
      expect(loaded.meta).toEqual({ run: 'demo', round: '3' });
      const w3 = table.fromTensors(loaded.weights);
      expect(new Uint8Array(w3.buffer)).toEqual(new Uint8Array(w2.buffer));
      const resumed = new Adam(table.size, opts);
      resumed.loadTensors(loaded.optimizerState);
      const outer2 = new OuterOptimizer(table.size, { kind: 'nesterov' });
      outer2.loadTensors(loaded.optimizerState);
      expect(outer2.step).toBe(1);
      for (let t = 3; t < 8; t++) resumed.update(w3, grads(t), lr(t));
      expect(new Uint8Array(w3.buffer)).toEqual(new Uint8Array(w1.buffer));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exports weights at half precision on request, keeping the optimizer state exact', () => {
    const w = Float32Array.from({ length: table.size }, (_, i) => 0.1 * (i % 7));
    const opt = new Adam(table.size);
    opt.update(w, grads(0), 1e-3);
    const full = saveCheckpoint({ weights: table.toTensors(w), optimizerState: opt.toTensors() });
    const half = saveCheckpoint({ weights: table.toTensors(w), optimizerState: opt.toTensors() }, { weightsDType: 'BF16' });
    // Weights shrink from 4 to 2 bytes each; m and v stay F32.
    expect(full.byteLength - half.byteLength).toBeGreaterThanOrEqual(2 * table.size - 8);
    const loaded = loadCheckpoint(half);
    expect(loaded.weights.latents?.dtype).toBe('BF16');
    const back = table.fromTensors(loaded.weights);
    for (let i = 0; i < w.length; i++)
      expect(Math.abs((back[i] as number) - (w[i] as number))).toBeLessThanOrEqual(Math.abs(w[i] as number) * 2 ** -8);
    const restored = new Adam(table.size);
    restored.loadTensors(loaded.optimizerState);
    expect(restored.getState().m).toEqual(opt.getState().m);
  });

  it('refuses a safetensors file that is not an Atomizer checkpoint', () => {
    const plain = encodeSafetensors({ x: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    expect(() => loadCheckpoint(plain, 'model.safetensors')).toThrow(/model.safetensors: not an Atomizer checkpoint/);
  });
});
