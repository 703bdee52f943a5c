import { describe, expect, it } from 'vitest';
import { DEFAULT_SPECTRAL_RBFS, defaultEncodingConfig } from './encoding-config.js';
import { erf, erfc, spectralEncoding } from './spectral.js';

const rbfs = DEFAULT_SPECTRAL_RBFS.map((r) => ({ ...r }));
const maxCfg = { mode: 'max' as const, rbfs };
const integralCfg = { mode: 'integral' as const, rbfs };
const idx = (mu: number) => rbfs.findIndex((r) => r.muNm === mu);

describe('erf / erfc', () => {
  it('matches tabulated values to 1e-7 (Abramowitz & Stegun table 7.1)', () => {
    const table: Array<[number, number]> = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(erf(x) - v)).toBeLessThan(1e-7);
      expect(Math.abs(erf(-x) + v)).toBeLessThan(1e-7);
    }
    // 1-sigma mass of a normal: erf(1/sqrt 2) = 0.682689492137...
    expect(Math.abs(erf(Math.SQRT1_2) - 0.6826894921370859)).toBeLessThan(1e-7);
  });

  it('erfc keeps relative accuracy in the tail', () => {
    // erfc(5) = 1.5374597944280349e-12, erfc(3) = 2.209049699858544e-5.
    expect(Math.abs(erfc(5) / 1.5374597944280349e-12 - 1)).toBeLessThan(1e-7);
    expect(Math.abs(erfc(3) / 2.209049699858544e-5 - 1)).toBeLessThan(1e-7);
    expect(Math.abs(erfc(-1) - (1 + 0.8427007929497149))).toBeLessThan(1e-7);
  });
});

describe('spectralEncoding, mode max', () => {
  // Sentinel-2 B02: 492.4 nm centre, 66 nm wide -> interval 459.4 .. 525.4 nm.
  const b02 = spectralEncoding({ wavelengthNm: 492.4, bandwidthNm: 66 }, maxCfg);

  it('B02 saturates the 468 and 513 nm RBFs (their centres lie inside the band)', () => {
    expect(b02[idx(468)]).toBe(1);
    expect(b02[idx(513)]).toBe(1);
  });

  it('RBFs outside B02 take their value at the nearest band edge', () => {
    // 424 nm, sigma 15, nearest edge 459.4: z = 35.4/15 = 2.36 -> exp(-2.7848) = 0.06173.
    expect(b02[idx(424)]).toBeCloseTo(Math.exp(-0.5 * ((459.4 - 424) / 15) ** 2), 12);
    expect(b02[idx(424)]).toBeCloseTo(0.06173, 4);
    // 557 nm, nearest edge 525.4: z = 31.6/15 = 2.10667 -> exp(-2.21902) = 0.10872.
    expect(b02[idx(557)]).toBeCloseTo(0.10872, 4);
    // 2100 nm (sigma 120) is 13 sigma away: ~exp(-86), zero in float32.
    expect(b02[idx(2100)]).toBeLessThan(1e-30);
  });

  it('broad B08 and narrow B8A differ through how many RBFs saturate', () => {
    const b08 = spectralEncoding({ wavelengthNm: 832.8, bandwidthNm: 106 }, maxCfg); // 779.8 .. 885.8
    const b8a = spectralEncoding({ wavelengthNm: 864.7, bandwidthNm: 21 }, maxCfg); // 854.2 .. 875.2
    expect(b08[idx(780)]).toBe(1);
    expect(b08[idx(850)]).toBe(1);
    expect(b8a[idx(850)]).toBeCloseTo(Math.exp(-0.5 * (4.2 / 15) ** 2), 12);
    // 780 nm is 74.2 nm (4.95 sigma) below B8A's lower edge: exp(-12.2) = 4.9e-6, against 1 for B08.
    expect(b8a[idx(780)]).toBeCloseTo(Math.exp(-0.5 * (74.2 / 15) ** 2), 12);
    expect(b8a[idx(780)]).toBeLessThan(1e-5);
  });

  it('writes at an offset into a given buffer', () => {
    const out = new Float32Array(20);
    spectralEncoding({ wavelengthNm: 492.4, bandwidthNm: 66 }, maxCfg, out, 3);
    expect(out[2]).toBe(0);
    expect(out[3 + idx(468)]).toBe(1);
  });

  it('rejects a bad wavelength or bandwidth, naming the band', () => {
    expect(() => spectralEncoding({ name: 'B99', wavelengthNm: -1, bandwidthNm: 10 }, maxCfg)).toThrow(/band 'B99'.*wavelengthNm/);
    expect(() => spectralEncoding({ name: 'B99', wavelengthNm: 500, bandwidthNm: Number.NaN }, maxCfg)).toThrow(/bandwidthNm/);
  });
});

describe('spectralEncoding, mode integral', () => {
  it('a band of width 2 sigma centred on an RBF has mean sqrt(pi/2)*erf(1/sqrt 2) = 0.855624', () => {
    const v = spectralEncoding({ wavelengthNm: 557, bandwidthNm: 30 }, integralCfg);
    expect(v[idx(557)]).toBeCloseTo(Math.sqrt(Math.PI / 2) * 0.6826894921370859, 7);
    expect(v[idx(557)]).toBeCloseTo(0.855624, 5);
  });

  it('matches a numerical (Simpson) mean of the Gaussian over the band, for all default RBFs', () => {
    const bands = [
      { wavelengthNm: 492.4, bandwidthNm: 66 },
      { wavelengthNm: 2202.4, bandwidthNm: 175 },
      { wavelengthNm: 1613.7, bandwidthNm: 91 },
      { wavelengthNm: 704.1, bandwidthNm: 15 },
    ];
    for (const band of bands) {
      const v = spectralEncoding(band, integralCfg);
      const lo = band.wavelengthNm - band.bandwidthNm / 2;
      const n = 2000; // even number of Simpson intervals
      const h = band.bandwidthNm / n;
      rbfs.forEach((r, k) => {
        const g = (l: number) => Math.exp(-0.5 * ((l - r.muNm) / r.sigmaNm) ** 2);
        let s = g(lo) + g(lo + band.bandwidthNm);
        for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * g(lo + i * h);
        const mean = (s * h) / 3 / band.bandwidthNm;
        expect(Math.abs(v[k]! - mean)).toBeLessThan(1e-9 + 1e-7 * mean);
      });
    }
  });

  it('is never above the max mode, and a zero-width band reads the Gaussian at its centre', () => {
    const band = { wavelengthNm: 664.6, bandwidthNm: 31 };
    const m = spectralEncoding(band, maxCfg);
    const i = spectralEncoding(band, integralCfg);
    for (let k = 0; k < rbfs.length; k++) expect(i[k]!).toBeLessThanOrEqual(m[k]! + 1e-15);
    const point = spectralEncoding({ wavelengthNm: 600, bandwidthNm: 0 }, integralCfg);
    expect(point[idx(602)]).toBeCloseTo(Math.exp(-0.5 * (2 / 15) ** 2), 14);
  });

  it('the default config is mode max with 16 RBFs', () => {
    const cfg = defaultEncodingConfig();
    expect(cfg.spectral.mode).toBe('max');
    expect(spectralEncoding({ wavelengthNm: 500, bandwidthNm: 10 }, cfg.spectral)).toHaveLength(16);
  });
});
