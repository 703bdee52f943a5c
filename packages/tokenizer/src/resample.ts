import type { BandRaster } from './types.js';

// Area-weighted resampling of one band onto another pixel grid over the same
// footprint: coarser grids (a modality's resolution factor, a simulated
// sensor's GSD) average exact pixel-area overlaps; finer grids (a 60 m band
// placed on a 30 m grid) take each output pixel's share of the one or two
// input pixels under it. Values come out as float32 physical values.

/**
 * Overlap of input pixel i ([i, i+1)) with output pixel j ([j*n/m, (j+1)*n/m))
 * along one axis, as a sparse list per output pixel: exact area weights for any
 * factor, so a non-integer factor splits border pixels between two outputs.
 */
function axisWeights(n: number, m: number): { index: number[]; weight: number[] }[] {
  const out: { index: number[]; weight: number[] }[] = [];
  for (let j = 0; j < m; j++) {
    const lo = (j * n) / m;
    const hi = ((j + 1) * n) / m;
    const index: number[] = [];
    const weight: number[] = [];
    for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
      const w = Math.min(hi, i + 1) - Math.max(lo, i);
      if (w > 1e-12) {
        index.push(i);
        weight.push(w);
      }
    }
    out.push({ index, weight });
  }
  return out;
}

/**
 * Area-average one band to round(w*f) x round(h*f) pixels (at least 1).
 * Physical values (stored*scale+offset) are averaged with exact area weights;
 * nodata and NaN inputs are left out of both sums; an output pixel with no
 * valid input is NaN (a missing atom). The footprint is unchanged, so the GSD
 * becomes gsd * w / round(w*f) (about gsd/f).
 */
export function downsampleBand(band: BandRaster, factor: number): BandRaster {
  if (!(factor > 0 && factor <= 1)) {
    throw new Error(`band ${band.sensor}:${band.name}: resolution factor must be in (0, 1], got ${factor}`);
  }
  return resampleBand(band, Math.max(1, Math.round(band.width * factor)), Math.max(1, Math.round(band.height * factor)));
}

/**
 * One band on an ow x oh grid over the same footprint, by exact pixel-area
 * overlap (coarser or finer). Physical values (stored*scale+offset); nodata and
 * NaN inputs are left out of both sums; an output pixel with no valid input is
 * NaN. The result is float32 physical values (scale 1, offset 0, no nodata),
 * GSD gsd * w / ow.
 */
export function resampleBand(band: BandRaster, ow: number, oh: number): BandRaster {
  if (!(Number.isInteger(ow) && Number.isInteger(oh) && ow >= 1 && oh >= 1)) {
    throw new Error(`band ${band.sensor}:${band.name}: target grid must be whole pixels >= 1, got ${ow}x${oh}`);
  }
  const { width: w, height: h, values, scale, offset, nodata } = band;
  const wx = axisWeights(w, ow);
  const wy = axisWeights(h, oh);
  const out = new Float32Array(ow * oh);
  const hasNodata = nodata !== undefined;
  for (let oy = 0; oy < oh; oy++) {
    const ry = wy[oy]!;
    for (let ox = 0; ox < ow; ox++) {
      const rx = wx[ox]!;
      let sum = 0;
      let wsum = 0;
      for (let a = 0; a < ry.index.length; a++) {
        const rowBase = ry.index[a]! * w;
        const wyv = ry.weight[a]!;
        for (let b = 0; b < rx.index.length; b++) {
          const stored = values[rowBase + rx.index[b]!]!;
          if (Number.isNaN(stored) || (hasNodata && stored === nodata)) continue;
          const wgt = wyv * rx.weight[b]!;
          sum += wgt * (stored * scale + offset);
          wsum += wgt;
        }
      }
      out[oy * ow + ox] = wsum > 0 ? sum / wsum : Number.NaN;
    }
  }
  const { nodata: _dropped, ...rest } = band;
  void _dropped;
  return { ...rest, width: ow, height: oh, gsdM: (band.gsdM * w) / ow, values: out, scale: 1, offset: 0 };
}
