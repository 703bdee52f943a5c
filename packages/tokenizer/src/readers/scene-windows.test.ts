// Windowed scene reading against the whole-file readers on real data: a window
// of a multi-band GeoTIFF (sen2.tif) and of a folder of band files at three
// resolutions (a BigEarthNet patch) holds exactly the pixels, band names,
// GSDs, scale and nodata the whole-file read gives for the same ground window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { cropBand } from '../modality.js';
import type { BandRaster, Sample } from '../types.js';
import { readSampleAt } from './dataset.js';
import { bandSpan, openSceneWindows, type SceneWindows } from './scene-windows.js';

const SEN2 = dataPath('rstoolbox-sen2', 'sen2.tif');
const BEN = dataPath('bigearthnet_tiny', 's2', 'S2A_MSIL2A_20170617T113321_36_85');

/** What a window read must equal: each whole band cropped on the same ground window. */
function expectedWindow(whole: Sample, fineW: number, fineH: number, x0: number, y0: number, w: number, h: number): BandRaster[] {
  return whole.bands.map((b) => {
    const [c0, cw] = bandSpan(x0, w, b.width, fineW);
    const [r0, rh] = bandSpan(y0, h, b.height, fineH);
    return cropBand(b, c0, r0, cw, rh);
  });
}

const strip = (b: BandRaster) => ({ ...b, values: Array.from(b.values) });

describe('openSceneWindows', () => {
  let scene: SceneWindows;
  beforeAll(async () => {
    scene = await openSceneWindows(SEN2, { sensor: 's2a' });
  });
  afterAll(async () => {
    await scene.close();
  });

  it('a multi-band GeoTIFF: header without pixels, windows equal to crops of the whole read', async () => {
    const whole = await readSampleAt(SEN2, { sensor: 's2a' });
    expect([scene.width, scene.height]).toEqual([247, 237]);
    expect(scene.bandNames).toEqual(whole.bands.map((b) => `${b.sensor}:${b.name}`));
    expect(scene.geo?.crs.epsg).toBe(4326);
    expect(scene.tags.modelPixelScale).toBeDefined();
    for (const [x0, y0, w, h] of [
      [0, 0, 247, 237],
      [30, 200, 17, 37],
      [246, 236, 1, 1],
    ] as const) {
      const win = await scene.readWindow(x0, y0, w, h);
      expect(win.bands.map(strip)).toEqual(expectedWindow(whole, 247, 237, x0, y0, w, h).map(strip));
    }
    await expect(scene.readWindow(240, 0, 10, 5)).rejects.toThrow(/window 10x5 at \(240, 0\) is not inside the 247x237 scene/);
  });

  it('a folder of band files at 10, 20 and 60 m: the finest grid, coarser bands on the same ground window', async () => {
    const ben = await openSceneWindows(BEN);
    try {
      const whole = await readSampleAt(BEN);
      expect([ben.width, ben.height]).toEqual([120, 120]);
      expect(ben.bandNames).toHaveLength(12);
      const win = await ben.readWindow(24, 60, 36, 12);
      const sizes = Object.fromEntries(win.bands.map((b) => [b.name, [b.width, b.height]]));
      expect(sizes).toMatchObject({ B02: [36, 12], B05: [18, 6], B01: [6, 2] });
      expect(win.bands.map(strip)).toEqual(expectedWindow(whole, 120, 120, 24, 60, 36, 12).map(strip));
    } finally {
      await ben.close();
    }
  });

  it('names what is wrong with a path', async () => {
    await expect(openSceneWindows('/no/such.tif')).rejects.toThrow(
      /\/no\/such\.tif: no such file or folder; give a GeoTIFF, a folder of one scene's band files or a STAC Item/,
    );
    await expect(openSceneWindows(dataPath('rstoolbox-sen2', 'sen2_polygons.geojson'))).rejects.toThrow(
      /not a GeoTIFF \(\.tif\), a STAC Item \(\.json\) nor a folder/,
    );
  });
});
