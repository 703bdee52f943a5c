import { describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { BandStatsAccumulator } from './band-stats.js';
import { dataPath } from './data-dir.js';
import { listBigEarthNetPatches, readBandFiles, readBigEarthNetPatch } from './readers/index.js';
import { BUILTIN_SENSORS, SensorCatalog, parseSensorDefinition } from './sensors/index.js';
import { bandStatsFor } from './stats-lookup.js';
import type { BandStats, Sample } from './types.js';

async function s2Patches(): Promise<{ s2a: Sample[]; s2b: Sample[] }> {
  const folders = (await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's2'))).sort();
  const samples = await Promise.all(folders.map((f) => readBigEarthNetPatch(f)));
  return { s2a: samples.filter((s) => s.id.startsWith('S2A_')), s2b: samples.filter((s) => s.id.startsWith('S2B_')) };
}

function statsOf(samples: readonly Sample[]): Map<string, BandStats> {
  const acc = new BandStatsAccumulator();
  for (const s of samples) acc.add(s);
  return new Map(acc.result().map((st) => [st.key, st]));
}

/** The same sample presented as another sensor id (same rasters, same band names). */
const asSensor = (s: Sample, sensor: string): Sample => ({ ...s, bands: s.bands.map((b) => ({ ...b, sensor })) });

describe('band statistics lookup with sensor families', () => {
  it('the catalogue groups Sentinel-2A/2B, Landsat 8/9 OLI and Landsat 4/5 TM; ETM+ stands alone', () => {
    const c = SensorCatalog.default();
    expect([c.get('sentinel-2a').family, c.get('sentinel-2b').family]).toEqual(['sentinel-2', 'sentinel-2']);
    expect([c.get('landsat-8').family, c.get('landsat-9').family]).toEqual(['landsat-oli', 'landsat-oli']);
    expect([c.get('landsat-4-tm').family, c.get('landsat-5-tm').family]).toEqual(['landsat-tm', 'landsat-tm']);
    expect(c.get('landsat-7').family).toBeUndefined();
  });

  it('a real Sentinel-2B patch z-scores with statistics of Sentinel-2A patches only (same band of the family)', async () => {
    const { s2a, s2b } = await s2Patches();
    expect(s2a.length).toBe(4);
    expect(s2b.length).toBe(7);
    const stats = statsOf(s2a);
    expect([...stats.keys()].every((k) => k.startsWith('sentinel-2a:'))).toBe(true);
    const patch = s2b[0] as Sample;
    expect(patch.bands[0]!.sensor).toBe('sentinel-2b');
    const { atoms } = atomize(patch, { stats });
    // 4 x 120x120 + 6 x 60x60 + 2 x 20x20 (BigEarthNet S2 layout).
    expect(atoms.length).toBe(80_000);
    // Each atom is (stored * scale + offset - mean_2A) / std_2A of its band.
    for (const [b, band] of patch.bands.entries()) {
      const st = stats.get(`sentinel-2a:${band.name}`)!;
      const i = atoms.band.indexOf(b);
      const physical = (band.values[0] as number) * band.scale + band.offset;
      expect(atoms.value[i]).toBeCloseTo((physical - st.mean) / st.std, 4);
    }
    expect(bandStatsFor(stats, { sensor: 'sentinel-2b', name: 'B8A' }, SensorCatalog.default()).key).toBe('sentinel-2a:B8A');
  });

  it('an exact key wins over the family; several family members are pooled as one computation over all their values', async () => {
    const { s2a, s2b } = await s2Patches();
    const both = statsOf([...s2a, ...s2b]);
    const catalog = SensorCatalog.default();
    expect(bandStatsFor(both, { sensor: 'sentinel-2b', name: 'B02' }, catalog)).toBe(both.get('sentinel-2b:B02'));
    // A user sensor of the same family, with no statistics of its own, gets 2A and 2B pooled:
    // equal to statistics accumulated over all 11 patches under one key.
    catalog.add({ ...BUILTIN_SENSORS[0]!, id: 'sentinel-2c', name: 'Sentinel-2C MSI', aliases: [], family: 'sentinel-2' });
    const pooled = bandStatsFor(both, { sensor: 'sentinel-2c', name: 'B11' }, catalog);
    const direct = statsOf([...s2a, ...s2b].map((s) => asSensor(s, 'all')));
    const ref = direct.get('all:B11')!;
    expect(pooled.key).toBe('sentinel-2a:B11+sentinel-2b:B11');
    expect(pooled.count).toBe(ref.count);
    expect(pooled.mean).toBeCloseTo(ref.mean, 9);
    expect(pooled.std / ref.std).toBeCloseTo(1, 12);
    expect([pooled.min, pooled.max]).toEqual([ref.min, ref.max]);
  });

  it('no family statistics: an Error naming band, sensor, family and what to do', async () => {
    const { s2a, s2b } = await s2Patches();
    const stats = statsOf(s2a);
    // The same catalogue but Sentinel-2B without a family: no fallback.
    const noFamily = new SensorCatalog(BUILTIN_SENSORS.map((s) => (s.id === 'sentinel-2b' ? { ...s, family: undefined } : s)));
    expect(() => atomize(s2b[0]!, { stats, catalog: noFamily })).toThrow(
      /no statistics for band 'sentinel-2b:B01' \(band B01 of sensor sentinel-2b\), and sensor sentinel-2b has no family.*compute statistics for sensor sentinel-2b/,
    );
    // Landsat 8 with Sentinel-2 statistics: its family has none.
    const l8 = await readBandFiles([dataPath('landsat_satellite_pkg', 'LC08_L1TP_195025_20130707_20170503_01_T1_B2.TIF')]);
    expect(() => atomize(l8, { stats })).toThrow(
      /no statistics for band 'landsat-8:B2'.*nor for band B2 of another sensor of its family 'landsat-oli'/,
    );
    // A sensor the catalogue does not know.
    expect(() => atomize(asSensor(s2b[0]!, 'my-drone'), { stats })).toThrow(/'my-drone:B01'.*sensor my-drone is not in the catalogue/);
  });

  it('a sensor file declares a family: real Landsat 8 band files read as that sensor use landsat-8 statistics', async () => {
    const file = dataPath('landsat_satellite_pkg', 'LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF');
    const l8 = await readBandFiles([file]);
    const stats = statsOf([l8]);
    const mine = parseSensorDefinition(
      { id: 'my-oli', name: 'OLI copy', family: 'landsat-oli', bands: [{ name: 'B4', wavelengthNm: 655, bandwidthNm: 50, gsdM: 30 }] },
      'my-oli.yaml',
    );
    expect(mine.family).toBe('landsat-oli');
    const catalog = SensorCatalog.default();
    catalog.add(mine);
    const asMine = await readBandFiles([file], { sensor: 'my-oli', catalog });
    const z = atomize(asMine, { stats, catalog }).atoms;
    // Same pixels, statistics of those very pixels: z-scores have mean 0 and std 1.
    const mean = z.value.reduce((s, v) => s + v, 0) / z.length;
    const sd = Math.sqrt(z.value.reduce((s, v) => s + (v - mean) ** 2, 0) / z.length);
    expect(mean).toBeCloseTo(0, 5);
    expect(sd).toBeCloseTo(1, 5);
    expect(() =>
      parseSensorDefinition(
        { id: 'x', name: 'x', family: 'a:b', bands: [{ name: 'B1', wavelengthNm: 500, bandwidthNm: 10, gsdM: 1 }] },
        'x.yaml',
      ),
    ).toThrow(/x\.yaml: family: expected an id without spaces or ':'/);
  });
});
