// Test fixture: real BigEarthNet patches read with the `geotiff` package directly (not
// through the project's readers), so shard tests do not depend on reader code and compare
// against an independent decode of the files.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fromFile } from 'geotiff';
import { dataPath } from '../src/data-dir.js';
import type { BandRaster, RasterArray, Sample } from '../src/types.js';

// Sentinel-2A MSI centre wavelength / width (nm) and GSD (m), docs/sensors.md (ESA S2-SRF).
const S2A: Record<string, [number, number, number]> = {
  B01: [442.7, 21, 60],
  B02: [492.4, 66, 10],
  B03: [559.8, 36, 10],
  B04: [664.6, 31, 10],
  B05: [704.1, 15, 20],
  B06: [740.5, 15, 20],
  B07: [782.8, 20, 20],
  B08: [832.8, 106, 10],
  B8A: [864.7, 21, 20],
  B09: [945.1, 20, 60],
  B11: [1613.7, 91, 20],
  B12: [2202.4, 175, 20],
};

export const S2_DIR = (): string => dataPath('bigearthnet_tiny', 's2');
export const S1_DIR = (): string => dataPath('bigearthnet_tiny', 's1');

export async function patchFolders(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  return names.sort().map((n) => join(dir, n));
}

async function readBand(file: string): Promise<{ values: RasterArray; width: number; height: number }> {
  const tiff = await fromFile(file);
  const image = await tiff.getImage();
  const rasters = await image.readRasters({ interleave: false });
  const values = (rasters as unknown as RasterArray[])[0];
  if (values === undefined) throw new Error(`${file}: no raster`);
  return { values, width: image.getWidth(), height: image.getHeight() };
}

async function metadata(folder: string): Promise<{ labels: string[]; acquisition_date?: string }> {
  const name = basename(folder);
  return JSON.parse(await readFile(join(folder, `${name}_labels_metadata.json`), 'utf8')) as {
    labels: string[];
    acquisition_date?: string;
  };
}

function timeOf(date: string): Sample['time'] {
  // '2017-06-17 11:33:21' (UTC) -> ISO, year, day of year.
  const d = new Date(`${date.replace(' ', 'T')}Z`);
  if (Number.isNaN(d.getTime())) throw new Error(`bad acquisition_date ${JSON.stringify(date)}`);
  const year = d.getUTCFullYear();
  const doy = Math.floor((d.getTime() - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  return { iso: d.toISOString(), year, doy };
}

/** `classes` maps label names to indices (grown as new names appear). */
export async function readS2Patch(folder: string, classes: string[]): Promise<Sample> {
  const name = basename(folder);
  const meta = await metadata(folder);
  const bands: BandRaster[] = [];
  for (const [band, [wl, bw, gsd]] of Object.entries(S2A)) {
    const { values, width, height } = await readBand(join(folder, `${name}_${band}.tif`));
    bands.push({
      kind: 'spectral',
      wavelengthNm: wl,
      bandwidthNm: bw,
      name: band,
      sensor: 'sentinel-2a',
      gsdM: gsd,
      width,
      height,
      values,
      scale: 1e-4,
      offset: 0,
      nodata: 0,
    });
  }
  return { id: name, bands, labels: labelIndices(meta.labels, classes), time: timeOf(meta.acquisition_date ?? ''), source: folder };
}

/** Sentinel-1 patches carry no acquisition date in their JSON: samples without `time`. */
export async function readS1Patch(folder: string, classes: string[]): Promise<Sample> {
  const name = basename(folder);
  const meta = await metadata(folder);
  const bands: BandRaster[] = [];
  for (const pol of ['VV', 'VH']) {
    const { values, width, height } = await readBand(join(folder, `${name}_${pol}.tif`));
    bands.push({
      kind: 'channel',
      channelKind: `sar-${pol.toLowerCase()}`,
      name: pol,
      sensor: 'sentinel-1',
      gsdM: 10,
      width,
      height,
      values,
      scale: 1,
      offset: 0,
      nodata: Number.NaN,
    });
  }
  return { id: name, bands, labels: labelIndices(meta.labels, classes), source: folder };
}

function labelIndices(names: string[], classes: string[]): number[] {
  return names.map((n) => {
    let i = classes.indexOf(n);
    if (i < 0) i = classes.push(n) - 1;
    return i;
  });
}
