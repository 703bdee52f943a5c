import { describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { makeBatch } from './batch.js';
import { dataPath } from './data-dir.js';
import { EncodingConfigSchema, defaultEncodingConfig, tokenLayout, type EncodingConfig } from './encoding-config.js';
import { fourierFeatures } from './fourier.js';
import { gsdEncoding } from './gsd-encoding.js';
import { listBigEarthNetPatches, readBigEarthNetPatch } from './readers/index.js';
import { SeededRng } from './rng.js';
import { spectralEncoding } from './spectral.js';
import { subsampleAtoms } from './subsample.js';
import { timeEncoding } from './time-encoding.js';
import { encodeBatchTokens, encodeTokens } from './tokens.js';
import type { AtomBand, AtomSet } from './types.js';

const cfg = defaultEncodingConfig();
const L = tokenLayout(cfg);
const B02: AtomBand = { kind: 'spectral', name: 'B02', gsdM: 10, wavelengthNm: 492.4, bandwidthNm: 66 };
const B11: AtomBand = { kind: 'spectral', name: 'B11', gsdM: 20, wavelengthNm: 1613.7, bandwidthNm: 91 };
const VV: AtomBand = { kind: 'channel', name: 'VV', gsdM: 10, channelKind: 'sar-vv' };

function atomSet(n: number, bands: AtomBand[], doy: number, seed = 1): AtomSet {
  const rng = new SeededRng(seed);
  const set: AtomSet = {
    length: n,
    value: new Float32Array(n),
    band: new Uint16Array(n),
    x: new Float32Array(n),
    y: new Float32Array(n),
    bands,
    doy,
  };
  for (let i = 0; i < n; i++) {
    set.value[i] = rng.normal() * 2;
    set.band[i] = rng.int(bands.length);
    set.x[i] = (rng.int(120) - 59.5) * 10;
    set.y[i] = (rng.int(120) - 59.5) * 10;
  }
  return set;
}

/** Token of atom i assembled from the reference (Math.sin/cos) encoders, independently of tokens.ts. */
function referenceToken(atoms: AtomSet, i: number, c: EncodingConfig): Float64Array {
  const l = tokenLayout(c);
  const t = new Float64Array(l.dim);
  const band = atoms.bands[atoms.band[i]!]!;
  fourierFeatures(atoms.value[i]!, c.value.numBands, c.value.maxFreq, t, l.value.offset);
  if (band.kind === 'spectral') spectralEncoding(band, c.spectral, t, l.spectral.offset);
  fourierFeatures(atoms.x[i]! / c.position.scaleM, c.position.numBands, c.position.maxFreq, t, l.x.offset);
  fourierFeatures(atoms.y[i]! / c.position.scaleM, c.position.numBands, c.position.maxFreq, t, l.y.offset);
  if (c.gsd.enabled) gsdEncoding(band.gsdM, c.gsd, t, l.gsd.offset);
  if (c.time.enabled) timeEncoding(atoms.doy, c.time.harmonics, t, l.time.offset);
  return t;
}

function maxDiff(tokens: Float32Array, atoms: AtomSet, c: EncodingConfig, rowOffset = 0): number {
  const dim = tokenLayout(c).dim;
  let worst = 0;
  for (let i = 0; i < atoms.length; i++) {
    const ref = referenceToken(atoms, i, c);
    for (let j = 0; j < dim; j++) worst = Math.max(worst, Math.abs(tokens[(rowOffset + i) * dim + j]! - ref[j]!));
  }
  return worst;
}

describe('encodeTokens', () => {
  it('assembles a hand-computed token: value 0 at the image centre, B02 at 10 m, day 91.25', () => {
    const atoms: AtomSet = {
      length: 1,
      value: new Float32Array([0]),
      band: new Uint16Array([0]),
      x: new Float32Array([0]),
      y: new Float32Array([0]),
      bands: [B02],
      doy: 91.25,
    };
    const t = encodeTokens(atoms, cfg);
    expect(L.dim).toBe(84);
    expect(t).toHaveLength(84);
    const part = (p: { offset: number; size: number }) => Array.from(t.subarray(p.offset, p.offset + p.size));
    const ffZero = [...new Array<number>(8).fill(0), ...new Array<number>(8).fill(1), 0]; // FF(0): sin 0, cos 1, u 0
    expect(part(L.value)).toEqual(ffZero);
    expect(part(L.x)).toEqual(ffZero);
    expect(part(L.y)).toEqual(ffZero);
    expect(part(L.gsd)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0]);
    const spec = part(L.spectral);
    expect(spec[2]).toBe(1); // 468 nm inside 459.4..525.4
    expect(spec[3]).toBe(1); // 513 nm
    expect(spec[1]).toBeCloseTo(0.06173, 4); // 424 nm at the 459.4 edge
    const time = part(L.time);
    [1, 0, -1, 0, 0, -1, 0, 1].forEach((v, k) => expect(time[k]).toBeCloseTo(v, 6));
  });

  it('x = 400 m is u = 1 of the position features: sin(0.75 pi k), k = 1..8', () => {
    const atoms: AtomSet = {
      length: 1,
      value: new Float32Array([0]),
      band: new Uint16Array([0]),
      x: new Float32Array([400]),
      y: new Float32Array([-200]),
      bands: [B02],
      doy: Number.NaN,
    };
    const t = encodeTokens(atoms, cfg);
    for (let k = 1; k <= 8; k++) {
      expect(t[L.x.offset + k - 1]).toBeCloseTo(Math.sin(0.75 * Math.PI * k), 6);
      expect(t[L.y.offset + 8 + k - 1]).toBeCloseTo(Math.cos(-0.75 * Math.PI * k * 0.5), 6);
    }
    expect(t[L.x.offset + 16]).toBe(1);
    expect(t[L.y.offset + 16]).toBe(-0.5);
    // Unknown date: time part all zero.
    expect(Array.from(t.subarray(L.time.offset, L.dim))).toEqual(new Array<number>(8).fill(0));
  });

  it('equals the reference assembly within float32 precision on random atoms (default and non-harmonic configs)', () => {
    const atoms = atomSet(3000, [B02, B11, VV], 200);
    expect(maxDiff(encodeTokens(atoms, cfg), atoms, cfg)).toBeLessThan(2e-6);
    const odd = EncodingConfigSchema.parse({
      value: { numBands: 5, maxFreq: 7 },
      position: { numBands: 3, maxFreq: 9, scaleM: 250 },
      spectral: { mode: 'integral' },
      gsd: { numBands: 2, maxFreq: 6, refM: 30 },
      time: { harmonics: 2 },
    });
    expect(maxDiff(encodeTokens(atoms, odd), atoms, odd)).toBeLessThan(2e-6);
  });

  it('channel bands get zeros in the spectral slot, even in a reused dirty buffer', () => {
    const atoms: AtomSet = {
      length: 2,
      value: new Float32Array([1, 2]),
      band: new Uint16Array([0, 1]),
      x: new Float32Array(2),
      y: new Float32Array(2),
      bands: [VV, B02],
      doy: 10,
    };
    const out = new Float32Array(2 * L.dim).fill(9);
    encodeTokens(atoms, cfg, out);
    expect(Array.from(out.subarray(L.spectral.offset, L.spectral.offset + 16))).toEqual(new Array<number>(16).fill(0));
    expect(out[L.dim + L.spectral.offset + 2]).toBe(1);
    expect(out.every((v) => v !== 9)).toBe(true);
  });

  it('gsd and time parts switch off (the paper code): dim 17 + 16 + 17 + 17 = 67', () => {
    const off = EncodingConfigSchema.parse({ gsd: { enabled: false }, time: { enabled: false } });
    const atoms = atomSet(50, [B02, VV], 100);
    const t = encodeTokens(atoms, off);
    expect(tokenLayout(off).dim).toBe(67);
    expect(t).toHaveLength(50 * 67);
    expect(maxDiff(t, atoms, off)).toBeLessThan(2e-6);
  });

  it('rejects a band index outside the band table and a short output buffer', () => {
    const atoms = atomSet(4, [B02], 1);
    atoms.band[2] = 3;
    expect(() => encodeTokens(atoms, cfg)).toThrow(/atom 2 has band index 3; the band table has 1/);
    expect(() => encodeTokens(atomSet(4, [B02], 1), cfg, new Float32Array(10))).toThrow(/expected at least 4 atoms x 84 = 336/);
  });
});

describe('encodeBatchTokens', () => {
  it('rows equal each set encoded alone; padded rows are all zero even in a dirty buffer; doy per sample', () => {
    const a = atomSet(30, [B02, VV], 50, 1);
    const b = atomSet(12, [B11, B02], Number.NaN, 2);
    const batch = makeBatch([a, b]);
    const out = new Float32Array(2 * 30 * L.dim).fill(5);
    encodeBatchTokens(batch, cfg, out);
    const ta = encodeTokens(a, cfg);
    const tb = encodeTokens(b, cfg);
    expect(Array.from(out.subarray(0, 30 * L.dim))).toEqual(Array.from(ta));
    expect(Array.from(out.subarray(30 * L.dim, 42 * L.dim))).toEqual(Array.from(tb));
    expect(out.subarray(42 * L.dim).every((v) => v === 0)).toBe(true);
    expect(() => encodeBatchTokens({ ...batch, doy: new Float32Array(1) }, cfg)).toThrow(/batch.doy has length 1; expected batchSize = 2/);
  });

  it('encodes real BigEarthNet S2 patches (atomize, subsample, batch) equal to the reference assembly', async () => {
    const patches = (await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's2'))).sort().slice(0, 2);
    const sets: AtomSet[] = [];
    for (const [i, patch] of patches.entries()) {
      const sample = await readBigEarthNetPatch(patch);
      const { atoms } = atomize(sample, { normalize: 'none' });
      expect(atoms.length).toBe(80000);
      expect(atoms.doy).toBeGreaterThan(0); // the patch's acquisition date, from its metadata
      // Raw reflectance (x 10000) would give huge sin arguments; bring it near unit scale as a z-score would.
      for (let j = 0; j < atoms.length; j++) atoms.value[j] = atoms.value[j]! / 1000;
      sets.push(subsampleAtoms(atoms, 500 + 100 * i, new SeededRng(i)));
    }
    const batch = makeBatch(sets);
    const tokens = encodeBatchTokens(batch, cfg);
    expect(tokens).toHaveLength(2 * 600 * L.dim);
    expect(maxDiff(tokens, sets[0]!, cfg, 0)).toBeLessThan(2e-6);
    expect(maxDiff(tokens, sets[1]!, cfg, 600)).toBeLessThan(2e-6);
    expect(tokens.subarray(600 * L.dim + 500 * L.dim, 600 * L.dim + 600 * L.dim).some((v) => v !== 0)).toBe(true);
    expect(tokens.subarray(500 * L.dim, 600 * L.dim).every((v) => v === 0)).toBe(true);
  });
});
