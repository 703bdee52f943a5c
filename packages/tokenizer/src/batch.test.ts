import { describe, expect, it } from 'vitest';
import { makeBatch } from './batch.js';
import type { AtomBand, AtomSet } from './types.js';

const B02: AtomBand = { kind: 'spectral', name: 'B02', gsdM: 10, wavelengthNm: 492.4, bandwidthNm: 66 };
const B04: AtomBand = { kind: 'spectral', name: 'B04', gsdM: 10, wavelengthNm: 664.6, bandwidthNm: 31 };
const VV: AtomBand = { kind: 'channel', name: 'VV', gsdM: 10, channelKind: 'sar-vv' };

function set(bands: AtomBand[], bandIdx: number[], doy: number): AtomSet {
  const n = bandIdx.length;
  return {
    length: n,
    value: Float32Array.from(bandIdx, (_, i) => i + 1),
    band: Uint16Array.from(bandIdx),
    x: Float32Array.from(bandIdx, (_, i) => 10 * (i + 1)),
    y: Float32Array.from(bandIdx, (_, i) => -10 * (i + 1)),
    bands,
    doy,
  };
}

describe('makeBatch', () => {
  it('pads to the longest set with mask 1/0 and zeros, doy per sample', () => {
    const batch = makeBatch([set([B02], [0, 0, 0], 100), set([B02], [0], Number.NaN)]);
    expect(batch.batchSize).toBe(2);
    expect(batch.maxAtoms).toBe(3);
    expect(Array.from(batch.mask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(Array.from(batch.value)).toEqual([1, 2, 3, 1, 0, 0]);
    expect(Array.from(batch.x)).toEqual([10, 20, 30, 10, 0, 0]);
    expect(Array.from(batch.y)).toEqual([-10, -20, -30, -10, 0, 0]);
    expect(batch.doy[0]).toBe(100);
    expect(batch.doy[1]).toBeNaN();
  });

  it('merges band tables: identical bands share one entry, indices remapped', () => {
    const shifted: AtomBand = { ...B02, wavelengthNm: 495 }; // an augmented B02 is a distinct entry
    const batch = makeBatch([set([B02, VV], [0, 1, 0], 1), set([VV, B04, B02], [2, 1, 0], 2), set([shifted], [0], 3)]);
    expect(batch.bands).toEqual([B02, VV, B04, shifted]);
    expect(Array.from(batch.band)).toEqual([0, 1, 0, 0, 2, 1, 3, 0, 0]);
  });

  it('a fixed maxAtoms pads further, and a longer set is an error asking to subsample', () => {
    const batch = makeBatch([set([B02], [0, 0], 1)], { maxAtoms: 5 });
    expect(batch.maxAtoms).toBe(5);
    expect(Array.from(batch.mask)).toEqual([1, 1, 0, 0, 0]);
    expect(() => makeBatch([set([B02], [0, 0, 0], 1)], { maxAtoms: 2 })).toThrow(/atom set 0 has 3 atoms, more than maxAtoms=2; subsample/);
  });

  it('rejects an atom whose band index is outside its set band table', () => {
    expect(() => makeBatch([set([B02], [0, 1], 1)])).toThrow(/atom 1 of set 0 has band index 1/);
  });

  it('refuses an empty atom set (a fully missing or cropped-away sample), naming it', () => {
    expect(() => makeBatch([set([B02], [0, 0], 1), set([B02], [], 2)])).toThrow(/atom set 1 has no atoms.*drop that sample/);
  });
});
