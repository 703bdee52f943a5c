import { describe, expect, it } from 'vitest';
import { EncodingConfigSchema, defaultEncodingConfig, tokenLayout } from './encoding-config.js';

describe('encoding config', () => {
  it('gives the 84-dimensional token of docs/model.md with the defaults', () => {
    const layout = tokenLayout(defaultEncodingConfig());
    // 17 value + 16 spectral + 17 x + 17 y + 9 gsd + 8 time
    expect(layout.dim).toBe(84);
    expect(layout.spectral).toEqual({ offset: 17, size: 16 });
    expect(layout.time).toEqual({ offset: 76, size: 8 });
  });

  it('drops the gsd and time parts when switched off (paper code layout, 67)', () => {
    const cfg = EncodingConfigSchema.parse({ gsd: { enabled: false }, time: { enabled: false } });
    expect(tokenLayout(cfg).dim).toBe(67);
  });

  it('names the field of a bad value', () => {
    const r = EncodingConfigSchema.safeParse({ value: { numBands: -1 } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0]?.path)).toContain('numBands');
  });
});
