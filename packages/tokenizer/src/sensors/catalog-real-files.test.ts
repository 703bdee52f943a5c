import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { SensorCatalog } from './catalog.js';

// The names real files use must resolve through the catalogue: USGS Landsat
// Level-1 band files and MTL metadata, and BigEarthNet S2/S1 patch folders.

const catalog = SensorCatalog.default();

describe('catalogue names of the real files in shared/data', () => {
  it('Landsat 8 and 7 band files (LC08_..._B10.TIF, LE07_..._B6_VCID_1.TIF) and MTL SPACECRAFT_ID', () => {
    const dir = dataPath('landsat_satellite_pkg');
    const resolved: Record<string, string[]> = {};
    for (const file of readdirSync(dir)) {
      const m = /^(L[CE]0\d)_.*_T1_(.+)\.TIF$/.exec(file);
      if (m === null || m[2] === 'BQA') continue;
      const sensor = catalog.get(m[1]!);
      const band = catalog.resolveBand(sensor.id, m[2]!);
      (resolved[sensor.id] ??= []).push(band.name);
    }
    expect([...new Set(resolved['landsat-8'])].sort()).toEqual(['B1', 'B10', 'B11', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9']);
    // B6_VCID_1 and B6_VCID_2 are both the ETM+ thermal band.
    expect(resolved['landsat-7']!.sort()).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B6', 'B7', 'B8']);

    for (const [prefix, id] of [
      ['LC08', 'landsat-8'],
      ['LE07', 'landsat-7'],
    ] as const) {
      const mtl = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('_MTL.txt'));
      const spacecraft = /SPACECRAFT_ID = "([^"]+)"/.exec(readFileSync(`${dir}/${mtl}`, 'utf8'))?.[1];
      expect(spacecraft).toBeDefined();
      expect(catalog.get(spacecraft!).id).toBe(id);
    }
  });

  it('BigEarthNet S2 patches hold exactly the `bigearthnet` group, S1 patches the `dual-vv` group', () => {
    const big = catalog.resolveGroup('sentinel-2a', ['bigearthnet']).map((b) => b.name);
    const s2 = dataPath('bigearthnet_tiny', 's2');
    for (const patch of readdirSync(s2)) {
      const sensor = catalog.get(patch.slice(0, 3)); // S2A / S2B
      const bands = readdirSync(`${s2}/${patch}`)
        .map((f) => /_(B\w\w)\.tif$/.exec(f)?.[1])
        .filter((b): b is string => b !== undefined)
        .map((b) => catalog.resolveBand(sensor.id, b).name);
      expect(bands.sort(), patch).toEqual([...big].sort());
    }
    const s1 = dataPath('bigearthnet_tiny', 's1');
    for (const patch of readdirSync(s1)) {
      const sensor = catalog.get(patch.slice(0, 3)); // S1A
      expect(sensor.id).toBe('sentinel-1');
      const bands = readdirSync(`${s1}/${patch}`)
        .map((f) => /_(V[VH])\.tif$/.exec(f)?.[1])
        .filter((b): b is string => b !== undefined)
        .map((b) => catalog.resolveBand(sensor, b));
      expect(bands.map((b) => b.name).sort()).toEqual(['VH', 'VV']);
      expect(bands.every((b) => b.kind === 'channel')).toBe(true);
    }
  });

  it('the Landsat 8 surface-reflectance files sr_b4/5/6 name red, NIR and SWIR 1', () => {
    const names = readdirSync(dataPath('landsat8_landfire_gdalraster'))
      // The GeoTIFFs only: GDAL may leave <file>.aux.xml beside them (gdalinfo -stats).
      .map((f) => /^(sr_b\d)_.*\.tif$/.exec(f)?.[1])
      .filter((b): b is string => b !== undefined)
      .map((b) => catalog.resolveBand('landsat-8', b).commonName);
    expect(names.sort()).toEqual(['nir08', 'red', 'swir16']);
  });
});
