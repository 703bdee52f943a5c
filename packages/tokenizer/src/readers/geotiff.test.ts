import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromArrayBuffer, writeArrayBuffer } from 'geotiff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { SeededRng } from '../rng.js';
import { bandNameFromFileName } from './band-naming.js';
import { parseGdalMetadata } from './gdal-metadata.js';
import { decodeGeoTiffFile } from './geotiff-file.js';
import { readBandFiles, readGeoTiff } from './geotiff.js';

const SEN2 = dataPath('rstoolbox-sen2', 'sen2.tif');
const L7 = dataPath('landsat7_stars', 'L7_ETMs.tif');
const PKG = dataPath('landsat_satellite_pkg');
const L8 = (b: string) => join(PKG, `LC08_L1TP_195025_20130707_20170503_01_T1_${b}.TIF`);
const LF = dataPath('landsat8_landfire_gdalraster');
const BEN_PATCH = 'S2A_MSIL2A_20170617T113321_36_85';
const BEN_B02 = dataPath('bigearthnet_tiny', 's2', BEN_PATCH, `${BEN_PATCH}_B02.tif`);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-geotiff-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('readGeoTiff on real multi-band files', () => {
  it('sen2.tif: 12 float32 bands named by their GDAL descriptions, EPSG:4326 pixels converted to about 10 m', async () => {
    const s = await readGeoTiff(SEN2, { sensor: 'sentinel-2a' });
    // Descriptions B1..B9, B8A, B11, B12 map to catalogue names B01..B12 (no B10).
    expect(s.bands.map((b) => b.name)).toEqual(['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B11', 'B12']);
    for (const b of s.bands) {
      expect(b.values).toBeInstanceOf(Float32Array);
      expect([b.width, b.height]).toEqual([247, 237]);
      expect(b.sensor).toBe('sentinel-2a');
    }
    const b02 = s.bands[1]!;
    expect(b02.kind === 'spectral' && [b02.wavelengthNm, b02.bandwidthNm]).toEqual([492.4, 66]);
    expect(s.geo.crs?.epsg).toBe(4326);
    expect(s.geo.crs?.geographic).toBe(true);
    // Independent: pixel side = bbox width / 247 degrees; at the centre latitude
    // (about -1.47 deg) x metres = deg * 111320 * cos(lat), y metres = deg * 110574.
    const [minX, minY, maxX, maxY] = s.geo.bbox!;
    const lat = ((minY + maxY) / 2) * (Math.PI / 180);
    const xm = ((maxX - minX) / 247) * 111320 * Math.cos(lat);
    const ym = ((maxY - minY) / 237) * 110574;
    expect(b02.gsdM).toBeCloseTo(Math.sqrt(xm * ym), 6);
    expect(b02.gsdM).toBeGreaterThan(9.9);
    expect(b02.gsdM).toBeLessThan(10.1);
    expect(minX).toBeCloseTo(-56.37369, 4);
    expect(maxY).toBeCloseTo(-1.45868, 4);
    expect(Object.values(s.geo.missingByBand).every((n) => n === 0)).toBe(true);
  });

  it('sen2.tif without a sensor: Error says the bands fit Sentinel-2A and 2B and asks for --sensor', async () => {
    await expect(readGeoTiff(SEN2)).rejects.toThrow(/sen2\.tif.*sentinel-2a, sentinel-2b.*--sensor/);
  });

  it('L7_ETMs.tif has no band names: Error asks for them; given them, 6 uint8 bands at 28.5 m in EPSG:31985', async () => {
    await expect(readGeoTiff(L7)).rejects.toThrow(/L7_ETMs\.tif: 6 band\(s\) without names.*--sensor/);
    await expect(readGeoTiff(L7, { sensor: 'landsat-7', bands: ['B1', 'B2'] })).rejects.toThrow(/2 band names given.*the file has 6 bands/);
    const s = await readGeoTiff(L7, { sensor: 'landsat-7', bands: ['B1', 'B2', 'B3', 'B4', 'B5', 'B7'] });
    expect(s.bands.map((b) => b.name)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B7']);
    expect(s.bands.every((b) => b.values instanceof Uint8Array && b.width === 349 && b.height === 352)).toBe(true);
    expect(s.bands[0]!.gsdM).toBeCloseTo(28.5, 6);
    const b4 = s.bands[3]!;
    expect(b4.kind === 'spectral' && b4.wavelengthNm).toBe(835); // ETM+ NIR, docs/sensors.md
    expect(s.geo.crs?.epsg).toBe(31985);
  });

  it('a band name the sensor does not know is an Error naming the band and the sensor', async () => {
    await expect(readGeoTiff(L7, { sensor: 'landsat-7', bands: ['B1', 'B2', 'B3', 'B4', 'B5', 'B99'] })).rejects.toThrow(
      /L7_ETMs\.tif: band 'B99' is not a band of sensor landsat-7/,
    );
  });
});

describe('readBandFiles', () => {
  it('Landsat 8 band files: sensor from the LC08 prefix, pan at 15 m on an 82x82 grid, date from the product id', async () => {
    const files = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8'].map(L8);
    const s = await readBandFiles(files);
    expect(s.bands[0]!.sensor).toBe('landsat-8');
    expect(s.bands.map((b) => b.name)).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8']);
    const pan = s.bands.find((b) => b.name === 'B8')!;
    expect([pan.width, pan.height, pan.gsdM]).toEqual([82, 82, 15]);
    const red = s.bands.find((b) => b.name === 'B4')!;
    expect([red.width, red.height, red.gsdM]).toEqual([41, 41, 30]);
    expect(red.values).toBeInstanceOf(Int16Array);
    // Level-1 fill 0: the MTL beside the files applies (landsat-level1.test.ts); the file's own nodata tag is -32768.
    expect(red.nodata).toBe(0);
    expect((await readBandFiles([L8('B4')], { mtl: 'off' })).bands[0]!.nodata).toBe(-32768);
    // 2013-07-07: 31+28+31+30+31+30 days before July, +7.
    expect(s.time).toEqual({ iso: '2013-07-07T00:00:00Z', year: 2013, doy: 188 });
    expect(s.geo.crs?.epsg).toBe(32632);
  });

  it('Landsat SR files named sr_b4_<date>.tif: PixelIsPoint origin shifted half a pixel, nodata 0', async () => {
    const files = ['sr_b4_20200829.tif', 'sr_b5_20200829.tif', 'sr_b6_20200829.tif'].map((f) => join(LF, f));
    // b4/b5/b6 fit several Landsat sensors: without --sensor the reader refuses to guess.
    await expect(readBandFiles(files)).rejects.toThrow(/cannot tell the sensor.*--sensor/);
    const s = await readBandFiles(files, { sensor: 'landsat-8' });
    expect(s.bands.map((b) => b.name)).toEqual(['B4', 'B5', 'B6']);
    expect(s.bands.every((b) => b.values instanceof Uint16Array && b.nodata === 0 && b.gsdM === 30)).toBe(true);
    expect(s.time?.iso).toBe('2020-08-29T00:00:00Z');
    // The file's tiepoint (read here with geotiff directly) is the CENTRE of
    // pixel (0,0) because GTRasterTypeGeoKey = 2; the corner is 15 m west/north.
    const image = await (await fromArrayBuffer(new Uint8Array(await readFile(files[0]!)).buffer)).getImage();
    const [tx, ty] = image.getOrigin();
    expect(image.getGeoKeys()?.GTRasterTypeGeoKey).toBe(2);
    expect(s.geo.bbox![0]).toBeCloseTo(tx! - 15, 6);
    expect(s.geo.bbox![3]).toBeCloseTo(ty! + 15, 6);
    expect(s.geo.bbox![2] - s.geo.bbox![0]).toBeCloseTo(149 * 30, 6);
  });

  it('a band suffix no sensor knows (_B99.tif) is an Error naming the file, band and sensor', async () => {
    const bad = join(tmp, `${BEN_PATCH}_B99.tif`);
    await copyFile(BEN_B02, bad);
    await expect(readBandFiles([BEN_B02, bad])).rejects.toThrow(
      new RegExp(`${BEN_PATCH}_B99\\.tif: band 'B99' is not a band of sensor sentinel-2a`),
    );
  });

  it('band files of different footprints: Error names both files and their bounds', async () => {
    const other = dataPath('bigearthnet_tiny', 's2', 'S2A_MSIL2A_20170617T113321_4_55', 'S2A_MSIL2A_20170617T113321_4_55_B03.tif');
    const err = await readBandFiles([BEN_B02, other]).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/do not cover the same footprint/);
    expect(err?.message).toContain(`${BEN_PATCH}_B02.tif has bounds [643200.00, 5796840.00, 644400.00, 5798040.00]`);
    expect(err?.message).toContain('S2A_MSIL2A_20170617T113321_4_55_B03.tif has bounds [604800.00, 5832840.00, 606000.00, 5834040.00]');
  });
});

describe('bad GeoTIFF bytes', () => {
  it('the first half of a real GeoTIFF is reported as not a valid/complete GeoTIFF, naming the file', async () => {
    const bytes = await readFile(BEN_B02);
    const half = join(tmp, 'half.tif');
    await writeFile(half, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(readGeoTiff(half, { sensor: 'sentinel-2a', bands: ['B02'] })).rejects.toThrow(
      /half\.tif: not a valid or complete GeoTIFF/,
    );
  });

  it('random bytes are reported as not a valid GeoTIFF, naming the file', async () => {
    const junk = join(tmp, 'junk.tif');
    const bytes = new Uint8Array(4096);
    const rng = new SeededRng(12345);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
    await writeFile(junk, bytes);
    await expect(readGeoTiff(junk)).rejects.toThrow(/junk\.tif: not a valid or complete GeoTIFF/);
  });
});

describe('NaN and nodata values', () => {
  // A 4x3 float32 tile in UTM 33N with 10 m pixels: two NaN and one -9999 (GDAL_NODATA).
  const values = new Float32Array([1, 2, Number.NaN, 4, 5, -9999, 7, 8, 9, Number.NaN, 11, 12]);
  const write = async (name: string) => {
    const path = join(tmp, name);
    const buf = writeArrayBuffer(values, {
      width: 4,
      height: 3,
      GDAL_NODATA: '-9999',
      ModelPixelScale: [10, 10, 0],
      ModelTiepoint: [0, 0, 0, 500000, 4000000, 0],
      GTModelTypeGeoKey: 1,
      GTRasterTypeGeoKey: 1,
      ProjectedCSTypeGeoKey: 32633,
    });
    await writeFile(path, new Uint8Array(buf));
    return path;
  };

  it('are kept in the raster and counted per band', async () => {
    const path = await write('holes.tif');
    const s = await readGeoTiff(path, { sensor: 'sentinel-2a', bands: ['B04'] });
    const b = s.bands[0]!;
    expect(b.nodata).toBe(-9999);
    expect(s.geo.missingByBand).toEqual({ B04: 3 });
    expect(Array.from(b.values.slice(0, 2))).toEqual([1, 2]);
    expect(b.gsdM).toBe(10);
    expect(s.geo.bbox).toEqual([500000, 4000000 - 30, 500040, 4000000]);
    expect(s.geo.crs?.epsg).toBe(32633);
  });

  it('are an Error naming the band and the count when allowMissing is false', async () => {
    const path = await write('holes2.tif');
    await expect(readGeoTiff(path, { sensor: 'sentinel-2a', bands: ['B04'], allowMissing: false })).rejects.toThrow(
      /holes2\.tif: band B04 has 3 missing values \(NaN or nodata -9999\)/,
    );
  });
});

describe('helpers', () => {
  it('band names from file-name suffixes', () => {
    expect(bandNameFromFileName('/x/S2A_MSIL2A_20170617T113321_36_85_B8A.tif')).toBe('B8A');
    expect(bandNameFromFileName('LE07_L1TP_195025_20010730_20170204_01_T1_B6_VCID_1.TIF')).toBe('B6_VCID_1');
    expect(bandNameFromFileName('sr_b4_20200829.tif')).toBe('B4');
    expect(bandNameFromFileName('S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39_VH.tif')).toBe('VH');
    expect(bandNameFromFileName('LC08_L2SP_044034_20210508_20210518_02_T1_QA_PIXEL.TIF')).toBe('QA_PIXEL');
    expect(bandNameFromFileName('scene.tif')).toBeUndefined();
  });

  it('GDAL_METADATA descriptions, scale and offset per band; statistics ignored; bad scale named', () => {
    const xml = `<GDALMetadata>
  <Item name="STATISTICS_MEAN" sample="0">5</Item>
  <Item name="DESCRIPTION" sample="0" role="description">B1</Item>
  <Item name="SCALE" sample="0" role="scale">0.0001</Item>
  <Item name="OFFSET" sample="1" role="offset">-0.1</Item>
  <Item name="DESCRIPTION" sample="1" role="description">nir &amp; more</Item>
</GDALMetadata>`;
    expect(parseGdalMetadata(xml, 2, 'f.tif')).toEqual([
      { description: 'B1', scale: 0.0001 },
      { description: 'nir & more', offset: -0.1 },
    ]);
    expect(() => parseGdalMetadata('<Item sample="0" role="scale">abc</Item>', 1, 'f.tif')).toThrow(
      /f\.tif: GDAL_METADATA scale of band 1 is 'abc'/,
    );
  });

  it('the LANDFIRE label raster decodes as int16 with its nodata 32767, in the same CRS as the scene', async () => {
    const evt = await decodeGeoTiffFile(join(LF, 'storml_evt.tif'));
    expect(evt.dtype).toBe('int16');
    expect([evt.width, evt.height]).toEqual([143, 107]);
    expect(evt.nodata).toBe(32767);
    expect(evt.geo?.crs.epsg).toBe(26912);
  });
});
