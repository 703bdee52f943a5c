// UCI Statlog (Landsat Satellite) as exported to CSV by R's mlbench: one row
// per 3x3 neighbourhood of Landsat MSS pixels, 36 values x.1..x.36 then the
// class of the centre pixel. Values are pixel-major: x.1..x.4 are the 4 bands
// of the top-left pixel, x.17..x.20 those of the centre pixel (data README).

import { readFile } from 'node:fs/promises';
import type { SplitName } from '../split.js';
import type { BandRaster, Sample } from '../types.js';
import { builtinCatalog, type SensorCatalog } from '../sensors/index.js';
import { splitCsvLine } from './csv.js';

/**
 * The 6 classes, in the order of the original UCI class codes (1 red soil,
 * 2 cotton crop, 3 grey soil, 4 damp grey soil, 5 soil with vegetation
 * stubble, 7 very damp grey soil; code 6 "mixture" has no rows). A label is
 * an index into this list.
 */
export const STATLOG_CLASSES: readonly string[] = [
  'red soil',
  'cotton crop',
  'grey soil',
  'damp grey soil',
  'vegetation stubble',
  'very damp grey soil',
];

/** Rows 0..4434 are the standard training set, 4435..6434 the test set. */
export const STATLOG_TRAIN_ROWS = 4435;

/** The 4 MSS bands in column order: green, red, NIR 0.7-0.8, NIR 0.8-1.1 um (catalogue names). */
const STATLOG_BANDS = ['MSS4', 'MSS5', 'MSS6', 'MSS7'];
const PIXELS = 9;
const VALUES = PIXELS * STATLOG_BANDS.length;

export interface StatlogItem {
  sample: Sample;
  /** Statlog's standard split has no validation rows. */
  split: Extract<SplitName, 'train' | 'test'>;
}

export interface StatlogOptions {
  catalog?: SensorCatalog;
}

/**
 * Read every row of the Statlog CSV as a 4-band 3x3 uint8 `landsat-mss` sample.
 * GSD is 80 m, an approximation: MSS pixels are about 57 x 79 m, resampled.
 * A malformed row (wrong column count, a value that is not an integer in
 * 0..255, an unknown class) is an Error naming the file and line number.
 */
export async function readStatlog(path: string, opts: StatlogOptions = {}): Promise<StatlogItem[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read Statlog CSV (${err instanceof Error ? err.message : String(err)})`);
  }
  const catalog = opts.catalog ?? builtinCatalog();
  const sensor = catalog.get('landsat-mss');
  const specs = STATLOG_BANDS.map((b) => catalog.resolveBand(sensor.id, b));
  const classIndex = new Map(STATLOG_CLASSES.map((c, i) => [c, i]));
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '');
  if (header.length !== VALUES + 1) {
    throw new Error(`${path}: line 1: header has ${header.length} columns, expected ${VALUES + 1} (x.1..x.36, classes)`);
  }
  const items: StatlogItem[] = [];
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li] as string;
    if (line.trim() === '') continue;
    const lineNo = li + 1;
    const fields = splitCsvLine(line);
    if (fields.length !== VALUES + 1) {
      throw new Error(`${path}: line ${lineNo}: ${fields.length} columns, expected ${VALUES + 1} (36 pixel values and a class)`);
    }
    const bands = specs.map(() => new Uint8Array(PIXELS));
    for (let j = 0; j < VALUES; j++) {
      const raw = fields[j] as string;
      const v = Number(raw);
      if (raw === '' || !Number.isInteger(v) || v < 0 || v > 255) {
        throw new Error(`${path}: line ${lineNo}: column x.${j + 1} is '${raw}', expected an integer 0..255`);
      }
      // Pixel-major: column j is pixel floor(j/4), band j%4.
      (bands[j % 4] as Uint8Array)[Math.floor(j / 4)] = v;
    }
    const cls = fields[VALUES] as string;
    const label = classIndex.get(cls);
    if (label === undefined) {
      throw new Error(`${path}: line ${lineNo}: class '${cls}' is not one of: ${STATLOG_CLASSES.join(', ')}`);
    }
    const row = items.length;
    const rasters: BandRaster[] = specs.map((spec, b) => {
      if (spec.kind !== 'spectral') throw new Error(`landsat-mss band ${spec.name} is not spectral`);
      return {
        kind: 'spectral',
        wavelengthNm: spec.wavelengthNm,
        bandwidthNm: spec.bandwidthNm,
        name: spec.name,
        sensor: sensor.id,
        gsdM: 80,
        width: 3,
        height: 3,
        values: bands[b] as Uint8Array,
        scale: 1,
        offset: 0,
      };
    });
    items.push({
      sample: { id: `statlog-${row}`, bands: rasters, labels: [label], source: `${path}:${lineNo}` },
      split: row < STATLOG_TRAIN_ROWS ? 'train' : 'test',
    });
  }
  return items;
}
