// Cloud-Optimized GeoTIFFs (tiled, with an internal overview) through the public
// readers. No file in /work/shared/data is tiled, so each case re-encodes a real
// stripped file as a COG (test/tiled-tiff.ts) in a temp dir and checks that the
// readers return exactly what they return for the original.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fromArrayBuffer } from 'geotiff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SensorCatalog, dataPath, readBandFiles, readGeoTiff, readSampleAt } from '../index.js';
import type { GeoSample, RasterArray } from '../index.js';
import { decimate2x, readSourceRaster, writeTiledTiff, type TiledTiff, type TiledTiffOptions } from '../../test/tiled-tiff.js';

const SEN2 = dataPath('rstoolbox-sen2', 'sen2.tif');
const L7 = dataPath('landsat7_stars', 'L7_ETMs.tif');
const L7_BANDS = ['B1', 'B2', 'B3', 'B4', 'B5', 'B7'];
const BEN_PATCH = 'S2A_MSIL2A_20170617T113321_36_85';
const BEN = (band: string) => dataPath('bigearthnet_tiny', 's2', BEN_PATCH, `${BEN_PATCH}_${band}.tif`);
// LANDFIRE vegetation-type raster: int16 with GDAL_NODATA 32767 and real nodata pixels.
const EVT = dataPath('landsat8_landfire_gdalraster', 'storml_evt.tif');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-cog-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Re-encode `source` as a COG under tmp/<dir>/, keeping its file name (so ids and band suffixes match). */
async function cogOf(source: string, dir: string, opts: TiledTiffOptions): Promise<{ path: string; cog: TiledTiff }> {
  const { raster, geo } = await readSourceRaster(source);
  const cog = writeTiledTiff(raster, geo, opts);
  await mkdir(join(tmp, dir), { recursive: true });
  const path = join(tmp, dir, basename(source));
  await writeFile(path, cog.bytes);
  return { path, cog };
}

/** Index of the first byte where two rasters differ (NaN-safe, bit-exact), or -1. */
function firstDifference(a: RasterArray, b: RasterArray): number {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Same bands (names, dtype, grid, GSD, physics, scale/offset/nodata, every value), footprint, CRS and missing counts. */
function expectSameSample(cog: GeoSample, orig: GeoSample): void {
  expect(cog.id).toBe(orig.id);
  expect(cog.time).toEqual(orig.time);
  expect(cog.bands.map((b) => b.name)).toEqual(orig.bands.map((b) => b.name));
  cog.bands.forEach((band, i) => {
    const o = orig.bands[i]!;
    const { values: cv, ...cogMeta } = band;
    const { values: ov, ...origMeta } = o;
    expect(cogMeta).toEqual(origMeta);
    expect(cv.constructor).toBe(ov.constructor);
    expect(cv.length).toBe(band.width * band.height);
    expect(firstDifference(cv, ov), `band ${band.name}`).toBe(-1);
  });
  expect(cog.geo.bbox).toEqual(orig.geo.bbox);
  expect(cog.geo.crs).toEqual(orig.geo.crs);
  expect(cog.geo.missingByBand).toEqual(orig.geo.missingByBand);
}

describe('the test writer makes a COG (checked with the geotiff package, not our reader)', () => {
  it('sen2.tif as 64x64 deflate tiles: tiled IFD 0 at full size, a 2x reduced IFD 1, overview data before full-resolution data', async () => {
    const { path, cog } = await cogOf(SEN2, 'layout', { tileSize: 64, compression: 'deflate' });
    const tiff = await fromArrayBuffer(cog.bytes.buffer as ArrayBuffer);
    expect(await tiff.getImageCount()).toBe(2);
    const full = await tiff.getImage(0);
    const ov = await tiff.getImage(1);
    expect(full.isTiled).toBe(true);
    expect([full.getWidth(), full.getHeight(), full.getTileWidth(), full.getTileHeight()]).toEqual([247, 237, 64, 64]);
    // 247 = 3*64 + 55 and 237 = 3*64 + 45: the last tile column and row are partial.
    expect(cog.images[0]!.tileOffsets).toHaveLength(4 * 4);
    expect([ov.getWidth(), ov.getHeight()]).toEqual([124, 119]);
    expect(await ov.getFileDirectory().loadValue('NewSubfileType')).toBe(1);
    expect(await full.getFileDirectory().loadValue('NewSubfileType')).toBe(0);
    // COG order: every IFD before any tile, overview tiles before full-resolution tiles, which end the file.
    const [fullLayout, ovLayout] = cog.images as [TiledTiff['images'][0], TiledTiff['images'][0]];
    expect(Math.max(...ovLayout.tileOffsets)).toBeLessThan(Math.min(...fullLayout.tileOffsets));
    const last = fullLayout.tileOffsets.length - 1;
    expect(fullLayout.tileOffsets[last]! + fullLayout.tileByteCounts[last]!).toBe(cog.bytes.length);
    // The overview holds every other pixel of every other row of the source.
    const { raster } = await readSourceRaster(SEN2);
    const ovPixels = (await ov.readRasters({ interleave: true })) as unknown as Float32Array;
    expect(firstDifference(ovPixels, decimate2x(raster).data)).toBe(-1);
    expect(path.endsWith('sen2.tif')).toBe(true);
  });
});

describe('readGeoTiff / readSampleAt on COGs of real multi-band files', () => {
  it('sen2.tif (12 x float32, EPSG:4326, NaN nodata), chunky deflate 64x64 tiles with partial edge tiles: same sample as the stripped original', async () => {
    const { path } = await cogOf(SEN2, 'sen2-chunky', { tileSize: 64, compression: 'deflate', planar: 1 });
    const orig = await readGeoTiff(SEN2, { sensor: 'sentinel-2a' });
    const cog = await readGeoTiff(path, { sensor: 'sentinel-2a' });
    expectSameSample(cog, orig);
    // The full-resolution image (README: 247x237), not the 124x119 overview; names from GDAL_METADATA.
    expect(cog.bands.every((b) => b.width === 247 && b.height === 237 && b.values instanceof Float32Array)).toBe(true);
    expect(cog.bands.map((b) => b.name)).toEqual(['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B11', 'B12']);
    expect(cog.geo.crs?.epsg).toBe(4326);
  });

  it('sen2.tif, planar (one plane per band) uncompressed 128x128 tiles: same sample', async () => {
    const { path } = await cogOf(SEN2, 'sen2-planar', { tileSize: 128, compression: 'none', planar: 2 });
    expectSameSample(await readGeoTiff(path, { sensor: 'sentinel-2a' }), await readGeoTiff(SEN2, { sensor: 'sentinel-2a' }));
  });

  it('L7_ETMs.tif (6 x uint8, EPSG:31985) through readSampleAt, chunky deflate and planar uncompressed: same sample', async () => {
    const opts = { sensor: 'landsat-7', bands: L7_BANDS };
    const orig = await readSampleAt(L7, opts);
    for (const [dir, o] of [
      ['l7-chunky', { tileSize: 64, compression: 'deflate', planar: 1 }],
      ['l7-planar', { tileSize: 64, compression: 'none', planar: 2 }],
    ] as const) {
      const { path } = await cogOf(L7, dir, o);
      const cog = await readSampleAt(path, opts);
      expectSameSample(cog, orig);
      expect(cog.bands.every((b) => b.width === 349 && b.height === 352 && b.values instanceof Uint8Array)).toBe(true);
      expect(cog.bands[0]!.gsdM).toBeCloseTo(28.5, 6);
    }
  });

  it('a LANDFIRE int16 raster with GDAL_NODATA 32767: the same nodata pixels are counted in the COG', async () => {
    const catalog = SensorCatalog.default();
    catalog.add({
      id: 'landfire',
      name: 'LANDFIRE layers',
      aliases: [],
      bands: [{ kind: 'channel', channelKind: 'landcover', name: 'EVT', aliases: [], gsdM: 30 }],
      groups: {},
      source: 'test',
    });
    const opts = { sensor: 'landfire', bands: ['EVT'], catalog };
    const { path } = await cogOf(EVT, 'evt', { tileSize: 64, compression: 'deflate' });
    const orig = await readGeoTiff(EVT, opts);
    const cog = await readGeoTiff(path, opts);
    expectSameSample(cog, orig);
    // Independent count with the geotiff package over the source pixels.
    const { raster } = await readSourceRaster(EVT);
    let expected = 0;
    for (const v of raster.data) if (v === 32767) expected++;
    expect(expected).toBeGreaterThan(0);
    expect(cog.bands[0]!.nodata).toBe(32767);
    expect(cog.geo.missingByBand).toEqual({ EVT: expected });
  });
});

describe('readBandFiles on COG band files', () => {
  it('BigEarthNet B02 (uint16 120x120, 10 m) and B05 (60x60, 20 m), one deflate tile grid each: same sample as the originals', async () => {
    const files = [BEN('B02'), BEN('B05')];
    const cogs = await Promise.all(files.map(async (f) => (await cogOf(f, BEN_PATCH, { tileSize: 64, compression: 'deflate' })).path));
    const orig = await readBandFiles(files);
    const cog = await readBandFiles(cogs);
    expectSameSample(cog, orig);
    expect(cog.bands.map((b) => [b.name, b.width, b.height, b.gsdM])).toEqual([
      ['B02', 120, 120, 10],
      ['B05', 60, 60, 20],
    ]);
    expect(cog.bands.every((b) => b.values instanceof Uint16Array)).toBe(true);
  });
});

describe('truncated COGs', () => {
  it('cut inside the last full-resolution tile: "not a valid or complete GeoTIFF" naming the file', async () => {
    for (const [dir, opts] of [
      ['cut-chunky', { tileSize: 64, compression: 'deflate', planar: 1 }],
      ['cut-planar', { tileSize: 64, compression: 'none', planar: 2 }],
    ] as const) {
      const { cog } = await cogOf(SEN2, dir, opts);
      const full = cog.images[0]!;
      const last = full.tileOffsets.length - 1;
      const cutAt = full.tileOffsets[last]! + Math.floor(full.tileByteCounts[last]! / 2);
      const path = join(tmp, dir, 'sen2_cut.tif');
      await writeFile(path, cog.bytes.subarray(0, cutAt));
      const err = await readGeoTiff(path, { sensor: 'sentinel-2a' }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toContain(`${path}: not a valid or complete GeoTIFF`);
      expect(err?.message).toContain(`data block ${last} ends at byte ${cog.bytes.length} but the file has ${cutAt} bytes: truncated`);
    }
  });
});
