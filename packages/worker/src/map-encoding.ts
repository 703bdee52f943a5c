// How `atomizer predict` stores a map in its GeoTIFF, in one place (the
// command's help and docs/design.md describe the same):
// - class map: one uint8 band, the class id (0-based, in the run's class
//   order) per pixel; 255 is nodata;
// - probabilities: one uint8 band per class, the probability scaled by 254
//   (p = value / 254, steps of 0.004), 255 nodata; the scale 1/254 is
//   recorded as each band's GDAL scale so GDAL-based tools read p directly.
//   Softmax over the classes for a single-label run, a sigmoid per class for
//   a multi-label one.
// - class names: GDAL_METADATA, dataset items CLASS_<id>=<name> (gdalinfo
//   lists them under "Metadata:") plus CLASSES (comma-separated); per band a
//   description ("class" for the map, the class name for a probability band).

import { formatGdalMetadata } from '@atomizer/tokenizer';

export const MAP_NODATA = 255;
export const PROBABILITY_SCALE = 254;

/** Most a class map can hold: ids 0..254, 255 being nodata. */
export const MAX_MAP_CLASSES = 255;

/** The GDAL_METADATA of a map of `classes` (see the file comment). */
export function mapMetadata(classes: readonly string[], probabilities: boolean, extra: Readonly<Record<string, string>> = {}): string {
  const items: Record<string, string> = { ...extra, CLASSES: classes.join(',') };
  classes.forEach((c, i) => {
    items[`CLASS_${i}`] = c;
  });
  const bands = probabilities
    ? classes.map((c) => ({ description: c, scale: 1 / PROBABILITY_SCALE, offset: 0 }))
    : [{ description: 'class' }];
  return formatGdalMetadata(items, bands);
}

/** Index of the largest of `n` values at row offset `at`. */
export function argmax(scores: Float32Array, at: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if ((scores[at + c] as number) > (scores[at + best] as number)) best = c;
  return best;
}

/**
 * Probabilities of one row of logits as uint8 (value = round(p * 254)) into
 * `out` at `outAt`: softmax for single-label, a sigmoid per class for multi-label.
 */
export function encodeProbabilities(
  logits: Float32Array,
  at: number,
  n: number,
  task: 'single' | 'multi',
  out: Uint8Array,
  outAt: number,
): void {
  if (task === 'multi') {
    for (let c = 0; c < n; c++) out[outAt + c] = Math.round(PROBABILITY_SCALE / (1 + Math.exp(-(logits[at + c] as number))));
    return;
  }
  const max = logits[at + argmax(logits, at, n)] as number;
  let sum = 0;
  for (let c = 0; c < n; c++) sum += Math.exp((logits[at + c] as number) - max);
  for (let c = 0; c < n; c++) out[outAt + c] = Math.round((PROBABILITY_SCALE * Math.exp((logits[at + c] as number) - max)) / sum);
}
