import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modelConfig } from './config.js';
import { paramTableOf } from './training.js';
import { TORCH_EXPORT_FORMAT, TORCH_MODULE_PATH, torchName, torchStateDict } from './torch-state-dict.js';

// The tfjs -> PyTorch state_dict mapping. That the Python module loads these names
// strictly and gives the same logits is checked end to end in
// packages/coordinator/src/commands/export.test.ts (needs python3-torch).

describe('torchStateDict', () => {
  const cfg = modelConfig('tiny', { selfPerCross: 2, weightTying: true, depth: 3 });
  const table = paramTableOf(cfg);
  const weights = Float32Array.from({ length: table.size }, (_, i) => i);

  it('maps every parameter to a distinct torch name, keeping the element count', () => {
    const sd = torchStateDict(cfg, weights);
    expect(Object.keys(sd)).toHaveLength(table.entries.length);
    for (const e of table.entries) {
      const t = sd[torchName(e.name, e.shape).name]!;
      expect(t.data.length).toBe(e.size);
    }
    // Weight tying: layers 0 and 1 only, as the TypeScript table.
    expect(Object.keys(sd).filter((k) => k.startsWith('layers.2.'))).toEqual([]);
    expect(Object.keys(sd)).toContain('layers.1.self.1.attn.to_q.weight');
    expect(Object.keys(sd)).toContain('layers.0.cross.norm_tokens.weight');
    expect(Object.keys(sd)).toContain('layers.0.cross_ff.fc2.bias');
  });

  it('transposes linear weights [in, out] -> [out, in]; tables and vectors stay as they are', () => {
    const sd = torchStateDict(cfg, weights);
    const views = table.views(weights);
    const w = table.entries.find((e) => e.name === 'head.w')!;
    const [d, C] = w.shape as [number, number];
    const fc = sd['head.fc.weight']!;
    expect(fc.shape).toEqual([C, d]);
    for (let i = 0; i < d; i++) for (let c = 0; c < C; c++) expect(fc.data[c * d + i]).toBe(views['head.w']![i * C + c]);
    expect(sd['pool.query']!.shape).toEqual([d]);
    expect(Array.from(sd.latents!.data as Float32Array)).toEqual(Array.from(views.latents!));
    expect(sd['channel_embed']!.shape).toEqual(table.entries.find((e) => e.name === 'channel_embed')!.shape);
  });

  it('an unmapped parameter name, or weights of another size, is an error naming it', () => {
    expect(() => torchName('layers.0.cross.wz', [2, 2])).toThrow(/^Model parameter 'layers\.0\.cross\.wz' has no PyTorch name/);
    expect(() => torchStateDict(cfg, new Float32Array(3))).toThrow(/torchStateDict: 3 weights, expected \d+/);
  });

  it('ships the Python module, which checks the same format string', () => {
    expect(existsSync(TORCH_MODULE_PATH)).toBe(true);
    expect(readFileSync(TORCH_MODULE_PATH, 'utf8')).toContain(`FORMAT = "${TORCH_EXPORT_FORMAT}"`);
  });
});
