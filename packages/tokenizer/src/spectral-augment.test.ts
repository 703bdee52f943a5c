import { describe, expect, it } from 'vitest';
import { SeededRng } from './rng.js';
import { AugmentConfigSchema, augmentBands, spectralAugment } from './spectral-augment.js';
import type { AtomBand, AtomSet } from './types.js';

const B02: AtomBand = { kind: 'spectral', name: 'B02', gsdM: 10, wavelengthNm: 492.4, bandwidthNm: 66 };
const B8A: AtomBand = { kind: 'spectral', name: 'B8A', gsdM: 20, wavelengthNm: 864.7, bandwidthNm: 21 };
const VV: AtomBand = { kind: 'channel', name: 'VV', gsdM: 10, channelKind: 'sar-vv' };
const atoms: AtomSet = {
  length: 2,
  value: new Float32Array([1, 2]),
  band: new Uint16Array([0, 2]),
  x: new Float32Array(2),
  y: new Float32Array(2),
  bands: [B02, VV, B8A],
  doy: 5,
};

describe('spectralAugment', () => {
  it('same seed, same augmentation; another seed, another one', () => {
    const a = spectralAugment(atoms, { spectralJitterNm: 10 }, 1);
    const b = spectralAugment(atoms, { spectralJitterNm: 10 }, new SeededRng(1));
    const c = spectralAugment(atoms, { spectralJitterNm: 10 }, 2);
    expect(a.bands).toEqual(b.bands);
    expect(a.bands).not.toEqual(c.bands);
  });

  it('stays within bounds: |shift| <= J, width factor in [1/2, 2]; channel bands and atoms untouched', () => {
    const rng = new SeededRng(4);
    let minShift = Infinity;
    let maxShift = -Infinity;
    let minF = Infinity;
    let maxF = -Infinity;
    for (let t = 0; t < 2000; t++) {
      const out = spectralAugment(atoms, { spectralJitterNm: 15 }, rng);
      const b = out.bands[0] as Extract<AtomBand, { kind: 'spectral' }>;
      const shift = b.wavelengthNm - 492.4;
      const f = b.bandwidthNm / 66;
      minShift = Math.min(minShift, shift);
      maxShift = Math.max(maxShift, shift);
      minF = Math.min(minF, f);
      maxF = Math.max(maxF, f);
      expect(out.bands[1]).toBe(VV);
      expect(out.value).toBe(atoms.value);
      expect(out.band).toBe(atoms.band);
      expect({ ...b, wavelengthNm: 0, bandwidthNm: 0 }).toEqual({ ...B02, wavelengthNm: 0, bandwidthNm: 0 });
    }
    expect(minShift).toBeGreaterThanOrEqual(-15);
    expect(maxShift).toBeLessThanOrEqual(15);
    expect(minF).toBeGreaterThanOrEqual(0.5);
    expect(maxF).toBeLessThanOrEqual(2);
    // 2000 draws reach close to both ends of each range.
    expect(minShift).toBeLessThan(-14);
    expect(maxShift).toBeGreaterThan(14);
    expect(minF).toBeLessThan(0.52);
    expect(maxF).toBeGreaterThan(1.95);
    // The input is never modified.
    expect(atoms.bands[0]).toEqual({ kind: 'spectral', name: 'B02', gsdM: 10, wavelengthNm: 492.4, bandwidthNm: 66 });
  });

  it('J = 0 is off: the same atom set back; negative J is an error', () => {
    expect(spectralAugment(atoms, { spectralJitterNm: 0 }, 1)).toBe(atoms);
    expect(() => augmentBands(atoms.bands, -1, new SeededRng(1))).toThrow(/spectralJitterNm/);
  });

  it('the config defaults to off', () => {
    expect(AugmentConfigSchema.parse(undefined)).toEqual({ spectralJitterNm: 0 });
    expect(() => AugmentConfigSchema.parse({ spectralJitterNm: -2 })).toThrow();
  });
});
