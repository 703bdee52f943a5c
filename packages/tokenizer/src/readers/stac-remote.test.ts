// STAC Items and ItemCollections whose documents and assets live on a loopback
// HTTP server (@atomizer/protocol range-server.ts) and on the embedded S3 server: relative
// hrefs resolved against the item's URL, raster:bands nodata/scale/offset
// applied, one sample per item of a collection, mixed sensors and broken items
// refused naming them. Assets are the real Landsat 8 surface-reflectance band
// files of /work/shared/data (served from memory, never copied to the repo).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedS3, type EmbeddedS3 } from '@atomizer/protocol/embedded';
import { startRangeServer, type RangeServer } from '@atomizer/protocol/range-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dataPath } from '../data-dir.js';
import { readDataset } from './dataset.js';
import { countMissing, decodeGeoTiffFile } from './geotiff-file.js';
import { openSceneWindows } from './scene-windows.js';
import { readStacItem } from './stac-item.js';

const lf = (n: number) => dataPath('landsat8_landfire_gdalraster', `sr_b${n}_20200829.tif`);
const BANDS: Array<[number, string, number, number]> = [
  [4, 'red', 0.655, 0.05],
  [5, 'nir08', 0.865, 0.04],
  [6, 'swir16', 1.61, 0.1],
];
const SCALE = 0.0000275;
const OFFSET = -0.2;
/** The value of sr_b4's first pixel, declared nodata by the item (the file itself says 0). */
const B4_NODATA = 8070;

let tmp: string;
let http: RangeServer;
let s3: EmbeddedS3;

/** A STAC 1.0 item over the three band files: eo:bands + raster:bands (nodata on B4, scale/offset on all). */
function item(id: string, hrefOf: (n: number) => string, bands = BANDS): Record<string, unknown> {
  const assets: Record<string, unknown> = {};
  for (const [n, common, centre, width] of bands) {
    assets[`sr_b${n}`] = {
      href: hrefOf(n),
      type: 'image/tiff; application=geotiff; profile=cloud-optimized',
      roles: ['data'],
      'eo:bands': [{ name: `SR_B${n}`, common_name: common, center_wavelength: centre, full_width_half_max: width }],
      'raster:bands': [{ spatial_resolution: 30, scale: SCALE, offset: OFFSET, ...(n === 4 ? { nodata: B4_NODATA } : {}) }],
    };
  }
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    id,
    geometry: null,
    properties: { datetime: '2020-08-29T18:30:00Z', platform: 'landsat-8', instruments: ['oli'] },
    assets,
  };
}

/** B4 relative to the item's URL, B5 on S3, B6 an absolute http URL. */
const mixedHrefs = (n: number) =>
  n === 4
    ? '../files/sr_b4_20200829.tif'
    : n === 5
      ? `s3://${s3.bucket}/landfire/sr_b5_20200829.tif`
      : `${http.url}/files/sr_b6_20200829.tif`;
const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-stac-remote-'));
  http = await startRangeServer();
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3') });
  for (const [n] of BANDS) {
    const bytes = new Uint8Array(await readFile(lf(n)));
    http.put(`/files/sr_b${n}_20200829.tif`, bytes);
    await s3.store().put(`landfire/sr_b${n}_20200829.tif`, bytes);
  }
  for (const [k, v] of Object.entries({ ...s3.env, ATOMIZER_OUTAGE_BUDGET: '5', ATOMIZER_CACHE_DIR: join(tmp, 'cache') })) {
    vi.stubEnv(k, v);
  }
  http.put('/items/landfire.json', json(item('storml_sr_20200829', mixedHrefs)), 'application/geo+json');
  await s3.store().put('items/landfire-s3.json', json(item('storml_s3', (n) => `../landfire/sr_b${n}_20200829.tif`)));
  http.put(
    '/items/collection.json',
    json({
      type: 'FeatureCollection',
      features: [item('scene-a', mixedHrefs), item('scene-b', (n) => `${http.url}/files/sr_b${n}_20200829.tif`)],
    }),
  );
  http.put(
    '/items/mixed.json',
    json({ type: 'FeatureCollection', features: [item('scene-a', mixedHrefs), item('scene-c', mixedHrefs, BANDS.slice(0, 2))] }),
  );
  http.put(
    '/items/broken.json',
    json({ type: 'FeatureCollection', features: [item('scene-a', mixedHrefs), { type: 'Feature', id: 'scene-x', properties: {} }] }),
  );
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await http?.close();
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('STAC items where they live', () => {
  it("an item served over HTTP with a relative, an s3:// and an http asset: the files' pixels, raster:bands scale/offset and nodata applied", async () => {
    const s = await readStacItem(`${http.url}/items/landfire.json`);
    expect(s.id).toBe('storml_sr_20200829');
    expect(s.bands.map((b) => b.name)).toEqual(['SR_B4', 'SR_B5', 'SR_B6']);
    expect(s.geo.files).toEqual([
      `${http.url}/files/sr_b4_20200829.tif`,
      `s3://${s3.bucket}/landfire/sr_b5_20200829.tif`,
      `${http.url}/files/sr_b6_20200829.tif`,
    ]);
    for (const [i, [n]] of BANDS.entries()) {
      const local = await decodeGeoTiffFile(lf(n));
      const band = s.bands[i]!;
      expect([band.width, band.height, band.scale, band.offset]).toEqual([149, 112, SCALE, OFFSET]);
      expect(
        Buffer.compare(
          Buffer.from(band.values.buffer, band.values.byteOffset, band.values.byteLength),
          Buffer.from(local.bands[0]!.buffer),
        ),
      ).toBe(0);
      // B4's nodata is the item's, overriding the file's GDAL_NODATA 0; the others keep the file's.
      expect(band.nodata).toBe(n === 4 ? B4_NODATA : local.nodata);
      expect(s.geo.missingByBand[band.name]).toBe(countMissing(local.bands[0]!, n === 4 ? B4_NODATA : local.nodata));
    }
    expect(s.geo.missingByBand.SR_B4).toBeGreaterThan(0);
  });

  it('an item stored on S3 with hrefs relative to its s3:// URL, and the same item as a windowed scene', async () => {
    const s = await readStacItem(`s3://${s3.bucket}/items/landfire-s3.json`);
    expect(s.geo.files).toEqual(BANDS.map(([n]) => `s3://${s3.bucket}/landfire/sr_b${n}_20200829.tif`));
    const scene = await openSceneWindows(`${http.url}/items/landfire.json`);
    const w = await scene.readWindow(0, 0, 10, 10);
    expect(w.bands[0]!.nodata).toBe(B4_NODATA);
    expect(w.bands.map((b) => [b.scale, b.offset])).toEqual(BANDS.map(() => [SCALE, OFFSET]));
    expect(w.bands[1]!.values[0]).toBe(s.bands[1]!.values[0]);
    await scene.close();
  });

  it('an ItemCollection over HTTP: one sample per item, in order', async () => {
    const source = readDataset(`stac:${http.url}/items/collection.json`);
    const ids: string[] = [];
    for await (const { sample, split } of source) {
      ids.push(sample.id);
      expect(split).toBe('train');
      expect(sample.bands.map((b) => b.name)).toEqual(['SR_B4', 'SR_B5', 'SR_B6']);
    }
    expect(ids).toEqual(['scene-a', 'scene-b']);
    expect(source.total).toBe(2);
  });

  it('a collection of several sensors, a broken item, a 404 item and several items where one scene is read: one line each', async () => {
    const first = async (spec: string) => {
      for await (const x of readDataset(spec)) return x;
      return undefined;
    };
    await expect(first(`stac:${http.url}/items/mixed.json`)).rejects.toThrow(
      /^http:\/\/127\.0\.0\.1:\d+\/items\/mixed\.json: the ItemCollection mixes sensors: item scene-a is .* \(SR_B4, SR_B5, SR_B6\) but item scene-c is .* \(SR_B4, SR_B5\); split it into one collection per sensor$/,
    );
    await expect(first(`stac:${http.url}/items/broken.json`)).rejects.toThrow(
      /^http:\/\/127\.0\.0\.1:\d+\/items\/broken\.json features\[1\] \(scene-x\)/,
    );
    await expect(readStacItem(`${http.url}/items/absent.json`)).rejects.toThrow(
      /^http:\/\/127\.0\.0\.1:\d+\/items\/absent\.json: HTTP 404 Not Found; check the URL/,
    );
    await expect(openSceneWindows(`${http.url}/items/collection.json`)).rejects.toThrow(
      /collection\.json: an ItemCollection of 2 items \(scene-a, scene-b\); one scene is read here/,
    );
  });
});
