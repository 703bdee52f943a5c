import * as tf from './tfjs.js';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { modelConfig } from './config.js';
import { initParams } from './init.js';
import { atomizerParamTable, paramCount, tokenDim } from './model-params.js';
import { paramTensors } from './atomizer-model.js';

describe('parameter table and count', () => {
  it('paper preset has about 60 M parameters, and the count matches a hand sum', () => {
    const cfg = modelConfig('paper');
    const d = 512;
    const D = tokenDim(cfg); // 84 (docs/model.md section 2)
    expect(D).toBe(84);
    const norm = (n: number) => 2 * n;
    const cross = norm(d) + norm(D) + d * 64 + 2 * D * 64 + 64 * d + d; // 1 head of 64
    const ff = norm(d) + d * 8 * d + 8 * d + 4 * d * d + d; // d -> 8d -> gate -> 4d -> d
    const self = norm(d) + 4 * d * 512 + d; // 8 heads of 64
    const layer = cross + ff + self + ff; // selfPerCross 1
    const extra = 512 * d + 4 * 16 + norm(d) + d + 2 * d * d + norm(d) + d * 19 + 19; // latents, channel embeds, pool, head
    expect(paramCount(cfg)).toBe(8 * layer + extra);
    expect(paramCount(cfg)).toBeGreaterThan(59e6);
    expect(paramCount(cfg)).toBeLessThan(61e6);
  });

  it('weight tying keeps layers 0 and 1 only', () => {
    const untied = modelConfig('small', { depth: 4 });
    const tied = modelConfig('small', { depth: 4, weightTying: true });
    const t = atomizerParamTable(tied);
    expect(t.has('layers.1.cross.wq')).toBe(true);
    expect(t.has('layers.2.cross.wq')).toBe(false);
    const perLayer = (paramCount(untied) - paramCount(modelConfig('small', { depth: 1 }))) / 3;
    expect(paramCount(untied) - paramCount(tied)).toBe(2 * perLayer);
  });
});

describe('initParams', () => {
  it('is deterministic from the seed and differs across seeds', () => {
    const cfg = modelConfig('tiny');
    const a = initParams(cfg, 42);
    expect(initParams(cfg, 42)).toEqual(a);
    expect(initParams(cfg, 43)).not.toEqual(a);
  });

  it('gains are 1, biases 0, weights truncated normal with std initStd', () => {
    const cfg = modelConfig('small');
    const table = atomizerParamTable(cfg);
    const w = initParams(cfg, 1);
    const v = table.views(w);
    expect(Array.from(v['layers.0.cross_ff.norm.gamma']!).every((x) => x === 1)).toBe(true);
    expect(Array.from(v['layers.0.cross.bo']!).every((x) => x === 0)).toBe(true);
    const w1 = v['layers.0.cross_ff.w1']!; // 64 x 512 values
    let s = 0;
    let s2 = 0;
    let maxAbs = 0;
    for (const x of w1) {
      s += x;
      s2 += x * x;
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
    expect(maxAbs).toBeLessThanOrEqual(2 * cfg.initStd + 1e-9);
    const mean = s / w1.length;
    // A normal truncated at 2 std has std 0.8796 of the untruncated one.
    const std = Math.sqrt(s2 / w1.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.8796 * cfg.initStd * 0.95);
    expect(std).toBeLessThan(0.8796 * cfg.initStd * 1.05);
  });

  it('gives identical tensors on the cpu and wasm backends', async () => {
    const cfg = modelConfig('tiny');
    const table = atomizerParamTable(cfg);
    const w = initParams(cfg, 7);
    const read = async (backend: 'cpu' | 'wasm') => {
      await selectBackend(backend);
      const ts = paramTensors(table, w);
      const out = table.entries.map((e) => Array.from(ts[e.name]!.dataSync()));
      tf.dispose(Object.values(ts));
      return out;
    };
    expect(await read('wasm')).toEqual(await read('cpu'));
  });
});
