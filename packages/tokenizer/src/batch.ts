// Atom sets -> one padded AtomBatch (types.ts), the compact records the
// model's input stage consumes. Sets of different sizes are padded to N
// (mask 0, zeros elsewhere: the model gives padded keys -infinity before the
// softmax, docs/model.md section 3). Band tables are merged: identical bands
// share one entry; augmented (shifted) bands are distinct entries.

import type { AtomBand, AtomBatch, AtomSet } from './types.js';

export interface MakeBatchOptions {
  /**
   * Fixed N: pad every batch to this many atoms so tensor shapes stay the
   * same across batches. A set longer than this is an error (subsample it
   * first with subsampleAtoms). Default: the longest set of the batch.
   */
  maxAtoms?: number;
}

/** Identity of a band table entry: every field the encodings read, plus the name. */
function bandKey(b: AtomBand): string {
  return b.kind === 'spectral' ? `s|${b.name}|${b.gsdM}|${b.wavelengthNm}|${b.bandwidthNm}` : `c|${b.name}|${b.gsdM}|${b.channelKind}`;
}

export function makeBatch(atomSets: readonly AtomSet[], opts: MakeBatchOptions = {}): AtomBatch {
  const B = atomSets.length;
  // An empty set (every pixel missing, or cropped away) would make the
  // cross-attention average over padding only: finite but meaningless logits
  // that still train the weights. Refuse it so the caller drops the sample.
  atomSets.forEach((s, i) => {
    if (s.length === 0) {
      throw new Error(`makeBatch: atom set ${i} has no atoms (every value missing or cropped away); drop that sample before batching`);
    }
  });
  let longest = 0;
  for (const s of atomSets) longest = Math.max(longest, s.length);
  let N = longest;
  if (opts.maxAtoms !== undefined) {
    if (!Number.isInteger(opts.maxAtoms) || opts.maxAtoms < 0) {
      throw new Error(`makeBatch: maxAtoms must be a non-negative integer, got ${opts.maxAtoms}`);
    }
    atomSets.forEach((s, i) => {
      if (s.length > (opts.maxAtoms as number)) {
        throw new Error(
          `makeBatch: atom set ${i} has ${s.length} atoms, more than maxAtoms=${opts.maxAtoms}; subsample it first (subsampleAtoms)`,
        );
      }
    });
    N = opts.maxAtoms;
  }

  const bands: AtomBand[] = [];
  const index = new Map<string, number>();
  const value = new Float32Array(B * N);
  const band = new Int32Array(B * N);
  const x = new Float32Array(B * N);
  const y = new Float32Array(B * N);
  const mask = new Float32Array(B * N);
  const doy = new Float32Array(B);

  atomSets.forEach((s, i) => {
    for (const [field, arr] of [
      ['value', s.value],
      ['band', s.band],
      ['x', s.x],
      ['y', s.y],
    ] as const) {
      if (arr.length < s.length) {
        throw new Error(`makeBatch: atom set ${i} declares ${s.length} atoms but its ${field} array has ${arr.length}`);
      }
    }
    // This set's band index -> batch band index.
    const remap = new Int32Array(s.bands.length);
    s.bands.forEach((b, j) => {
      const key = bandKey(b);
      let at = index.get(key);
      if (at === undefined) {
        at = bands.length;
        bands.push(b);
        index.set(key, at);
      }
      remap[j] = at;
    });
    const base = i * N;
    value.set(s.value.subarray(0, s.length), base);
    x.set(s.x.subarray(0, s.length), base);
    y.set(s.y.subarray(0, s.length), base);
    mask.fill(1, base, base + s.length);
    for (let a = 0; a < s.length; a++) {
      const local = s.band[a] as number;
      if (local >= s.bands.length) {
        throw new Error(`makeBatch: atom ${a} of set ${i} has band index ${local}; its band table has ${s.bands.length} entries`);
      }
      band[base + a] = remap[local] as number;
    }
    doy[i] = s.doy;
  });

  return { batchSize: B, maxAtoms: N, value, band, x, y, mask, doy, bands };
}
