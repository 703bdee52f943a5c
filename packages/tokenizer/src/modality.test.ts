import { beforeAll, describe, expect, it } from 'vitest';
import { atomize } from './atomize.js';
import { dataPath } from './data-dir.js';
import { applyModality, cropBand, parseModality, type Modality } from './modality.js';
import { downsampleBand } from './resample.js';
import { ModalityRegistry } from './modality-registry.js';
import { readBigEarthNetPatch } from './readers/bigearthnet.js';
import { SeededRng } from './rng.js';
import { SensorCatalog } from './sensors/index.js';
import type { BandRaster, Sample } from './types.js';

const catalog = SensorCatalog.default();
const registry = ModalityRegistry.default();
const S2_PATCH = dataPath('bigearthnet_tiny', 's2', 'S2B_MSIL2A_20170924T093019_43_47');
const S1_PATCH = dataPath('bigearthnet_tiny', 's1', 'S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39');

let s2: Sample;
let s1: Sample;
beforeAll(async () => {
  s2 = await readBigEarthNetPatch(S2_PATCH);
  s1 = await readBigEarthNetPatch(S1_PATCH);
});

const evalOpts = { mode: 'eval' as const, catalog };
const band = (s: Sample, name: string): BandRaster => {
  const b = s.bands.find((x) => x.name === name);
  if (b === undefined) throw new Error(`test: no band ${name} in ${s.id}`);
  return b;
};
const phys = (b: BandRaster, i: number): number => b.values[i]! * b.scale + b.offset;
// (BigEarthNet S2 rasters are uint16 with scale 1e-4: physical values are reflectances ~0.01-0.5.)
const m = (input: object): Modality => parseModality(input);

describe('band subset', () => {
  it('keeps the bands a built-in modality names, at native size', () => {
    const rgbn = applyModality(s2, registry.get('s2-rgbn-10m'), evalOpts);
    expect(rgbn.bands.map((b) => b.name).sort()).toEqual(['B02', 'B03', 'B04', 'B08']);
    expect(rgbn.bands.every((b) => b.width === 120 && b.height === 120 && b.gsdM === 10)).toBe(true);
    expect(band(rgbn, 'B03').values).toBe(band(s2, 'B03').values); // untouched bands are not copied
    expect(
      applyModality(s2, registry.get('s2-swir-only'), evalOpts)
        .bands.map((b) => b.name)
        .sort(),
    ).toEqual(['B11', 'B12']);
    expect(applyModality(s2, registry.get('s2-all'), evalOpts).bands).toHaveLength(12);
    expect(applyModality(s2, registry.get('native'), evalOpts).bands).toHaveLength(12);
  });

  it('expands sensor groups and aliases through the catalogue', () => {
    const out = applyModality(s2, m({ name: 'groups', bands: ['rgb', 'swir', 'nir08'] }), evalOpts);
    expect(out.bands.map((b) => b.name).sort()).toEqual(['B02', 'B03', 'B04', 'B11', 'B12', 'B8A']);
  });

  it('rejects an unknown band, naming the band and the modality', () => {
    expect(() => applyModality(s2, m({ name: 'typo', bands: ['B02', 'B99'] }), evalOpts)).toThrow(/typo.*B99|B99.*typo/);
  });

  it('rejects a modality that leaves no band of the sample', () => {
    // B10 is a Sentinel-2 band, but BigEarthNet does not ship it.
    expect(() => applyModality(s2, m({ name: 'cirrus', bands: ['B10'] }), evalOpts)).toThrow(/cirrus.*keeps no band/);
    // A Sentinel-1 modality on a Sentinel-2 patch: no band of that sensor.
    expect(() => applyModality(s2, registry.get('s1-vv-vh'), evalOpts)).toThrow(/s1-vv-vh.*sentinel-1/);
  });

  it('selects by sensor: sentinel-2 matches S2A and S2B patches, sentinel-1 its channel bands', () => {
    // The patch is an S2B one; built-in S2 modalities name the family 'sentinel-2'.
    expect(s2.bands[0]!.sensor).toBe('sentinel-2b');
    const vv = applyModality(s1, registry.get('s1-vv-vh'), evalOpts);
    expect(vv.bands.map((b) => b.name).sort()).toEqual(['VH', 'VV']);
    expect(() => applyModality(s1, registry.get('s2-all'), evalOpts)).toThrow(/s2-all/);
  });

  it('selects by sensor family: a catalogue family name matches its members, not other sensors', () => {
    // The S2B patch presented as Landsat 9 bands (family landsat-oli) for the selection only.
    const asL9: Sample = { ...s2, bands: s2.bands.map((b) => ({ ...b, sensor: 'landsat-9' })) };
    const oli = applyModality(asL9, m({ name: 'oli-native', sensor: 'landsat-oli' }), evalOpts);
    expect(oli.bands.length).toBe(12);
    expect(() => applyModality(s2, m({ name: 'oli-native', sensor: 'landsat-oli' }), evalOpts)).toThrow(
      /sensor 'landsat-oli'.*sentinel-2b/,
    );
  });
});

describe('resolution factor', () => {
  it('0.5 turns a 120x120 10 m band into 60x60 at 20 m whose pixels are the 2x2 means', () => {
    const out = applyModality(s2, m({ name: 'half', bands: ['B04'], resolutionFactor: 0.5 }), evalOpts);
    const src = band(s2, 'B04');
    const b = band(out, 'B04');
    expect([b.width, b.height, b.gsdM, b.scale, b.offset]).toEqual([60, 60, 20, 1, 0]);
    expect(b.values).toBeInstanceOf(Float32Array);
    for (let r = 0; r < 60; r++) {
      for (let c = 0; c < 60; c++) {
        const i = 2 * r * 120 + 2 * c;
        const mean = (phys(src, i) + phys(src, i + 1) + phys(src, i + 120) + phys(src, i + 121)) / 4;
        // float32 output of a float64 mean: equal to float32 precision.
        expect(Math.abs(b.values[r * 60 + c]! - mean)).toBeLessThanOrEqual(1e-7 * Math.abs(mean) + 1e-12);
      }
    }
  });

  it('keeps every band on the same footprint (s2-all-20m: 10->20 m, 20->40 m, 60->120 m)', () => {
    const out = applyModality(s2, registry.get('s2-all-20m'), evalOpts);
    for (const b of out.bands) {
      const src = band(s2, b.name);
      expect(b.width).toBe(src.width / 2);
      expect(b.gsdM).toBe(src.gsdM * 2);
      expect(b.width * b.gsdM).toBe(1200);
    }
    const pixels = out.bands.reduce((n, b) => n + b.width * b.height, 0);
    expect(pixels).toBe(4 * 60 * 60 + 6 * 30 * 30 + 2 * 10 * 10);
  });

  it('gives atoms on the sparser grid: 20 000 atoms, B02 pixel centres 20 m apart over the same 1200 m', () => {
    const { atoms } = atomize(applyModality(s2, registry.get('s2-all-20m'), evalOpts));
    expect(atoms.length).toBe(20_000);
    const b02 = atoms.bands.findIndex((b) => b.name === 'B02');
    expect(atoms.bands[b02]?.gsdM).toBe(20);
    const xs = [
      ...new Set(
        Array.from({ length: atoms.length }, (_, i) => i)
          .filter((i) => atoms.band[i] === b02)
          .map((i) => atoms.x[i]!),
      ),
    ].sort((a, b) => a - b);
    // 60 columns at 20 m: centres -590, -570, ..., 590 (docs/model.md section 1: offsets from the image centre).
    expect(xs).toHaveLength(60);
    expect(xs[0]).toBeCloseTo(-590, 4);
    expect(xs[1]! - xs[0]!).toBeCloseTo(20, 4);
    expect(xs[59]).toBeCloseTo(590, 4);
  });

  it('uses exact area weights for a non-integer factor', () => {
    // 3 pixels [a b c] at factor 2/3 -> 2 outputs, each 1.5 input pixels wide:
    // out0 = (a*1 + b*0.5) / 1.5, out1 = (b*0.5 + c*1) / 1.5.
    const b: BandRaster = {
      kind: 'spectral',
      wavelengthNm: 500,
      bandwidthNm: 10,
      name: 'X',
      sensor: 'test',
      gsdM: 10,
      width: 3,
      height: 1,
      values: new Uint16Array([30, 60, 120]),
      scale: 1,
      offset: 0,
    };
    const out = downsampleBand(b, 2 / 3);
    expect([out.width, out.height]).toEqual([2, 1]);
    expect(out.values[0]).toBeCloseTo((30 + 60 * 0.5) / 1.5, 5);
    expect(out.values[1]).toBeCloseTo((60 * 0.5 + 120) / 1.5, 5);
    expect(out.gsdM).toBe(15);
  });

  it('conserves the band mean under any factor (each output pixel covers the same area)', () => {
    const src = band(s2, 'B01'); // 20x20 at 60 m
    const out = downsampleBand(src, 0.7); // 14x14, weights split pixels
    expect([out.width, out.height]).toEqual([14, 14]);
    expect(out.gsdM).toBeCloseTo((60 * 20) / 14, 9);
    let a = 0;
    for (let i = 0; i < 400; i++) a += phys(src, i);
    let b = 0;
    for (let i = 0; i < 196; i++) b += out.values[i]!;
    expect(Math.abs(b / 196 - a / 400)).toBeLessThan(1e-6 * (a / 400));
  });

  it('leaves nodata and NaN out of the average; an all-missing output is NaN', () => {
    const u16: BandRaster = {
      kind: 'spectral',
      wavelengthNm: 500,
      bandwidthNm: 10,
      name: 'X',
      sensor: 'test',
      gsdM: 10,
      width: 4,
      height: 2,
      values: new Uint16Array([1, 0, 0, 0, 3, 5, 0, 0]),
      scale: 2,
      offset: 1,
      nodata: 0,
    };
    const out = downsampleBand(u16, 0.5);
    // left 2x2: stored 1, 3, 5 valid -> physical 3, 7, 11 -> mean 7; right 2x2 all nodata.
    expect(out.values[0]).toBeCloseTo(7, 6);
    expect(Number.isNaN(out.values[1])).toBe(true);
    expect(out.nodata).toBeUndefined();
    const f32: BandRaster = { ...u16, values: new Float32Array([1, NaN, 2, 4, 3, NaN, 6, 8]), nodata: undefined, scale: 1, offset: 0 };
    const out2 = downsampleBand(f32, 0.5);
    expect(out2.values[0]).toBeCloseTo(2, 6);
    expect(out2.values[1]).toBeCloseTo(5, 6);
  });
});

describe('size factor', () => {
  it('eval keeps the centred window, the same ground window in every band', () => {
    const out = applyModality(s2, m({ name: 'crop', sizeFactor: 0.5 }), evalOpts);
    for (const b of out.bands) {
      const src = band(s2, b.name);
      // Centred half window: 300 m from the west/north edge whatever the GSD.
      const c0 = 300 / src.gsdM;
      expect([b.width, b.height]).toEqual([src.width / 2, src.height / 2]);
      expect(b.values.constructor).toBe(src.values.constructor);
      for (let r = 0; r < b.height; r++) {
        for (let c = 0; c < b.width; c++) {
          if (b.values[r * b.width + c] !== src.values[(r + c0) * src.width + c + c0]) {
            throw new Error(`${b.name}: pixel (${r}, ${c}) differs from the centred source window`);
          }
        }
      }
    }
    const rededge = applyModality(s2, registry.get('s2-rededge-crop'), evalOpts);
    expect(rededge.bands.map((b) => b.name).sort()).toEqual(['B05', 'B06', 'B07', 'B8A']);
    expect(rededge.bands.every((b) => b.width === 30 && b.height === 30 && b.gsdM === 20)).toBe(true);
  });

  /** Where, in the source band, the cropped band was taken from (brute-force search). */
  const locate = (crop: BandRaster, src: BandRaster): Array<[number, number]> => {
    const hits: Array<[number, number]> = [];
    for (let r0 = 0; r0 + crop.height <= src.height; r0++) {
      for (let c0 = 0; c0 + crop.width <= src.width; c0++) {
        let same = true;
        for (let r = 0; r < crop.height && same; r++) {
          for (let c = 0; c < crop.width; c++) {
            if (crop.values[r * crop.width + c] !== src.values[(r0 + r) * src.width + c0 + c]) {
              same = false;
              break;
            }
          }
        }
        if (same) hits.push([c0, r0]);
      }
    }
    return hits;
  };

  it('train draws a seeded random window, the same ground window in every band', () => {
    const mod = m({ name: 'rand-crop', bands: ['B02', 'B05', 'B09'], sizeFactor: 0.4 });
    const origins = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) {
      const a = applyModality(s2, mod, { mode: 'train', rng: new SeededRng(seed), catalog });
      const b = applyModality(s2, mod, { mode: 'train', rng: new SeededRng(seed), catalog });
      expect(a.bands.map((x) => Array.from(x.values))).toEqual(b.bands.map((x) => Array.from(x.values)));
      const ground = a.bands.map((x) => {
        const src = band(s2, x.name);
        expect([x.width, x.height]).toEqual([Math.round(0.4 * src.width), Math.round(0.4 * src.height)]);
        const hits = locate(x, src);
        expect(hits.length).toBeGreaterThanOrEqual(1);
        const [c0, r0] = hits[0]!;
        return `${c0 * src.gsdM},${r0 * src.gsdM}`;
      });
      // Same ground origin (metres) in the 10 m, 20 m and 60 m bands.
      expect(new Set(ground).size).toBe(1);
      origins.add(ground[0]!);
    }
    expect(origins.size).toBeGreaterThan(1);
  });

  it('train mode without an rng is an error', () => {
    expect(() => applyModality(s2, registry.get('s2-rededge-crop'), { mode: 'train', catalog })).toThrow(/rng/);
  });

  it('cropBand rejects a window outside the raster', () => {
    expect(() => cropBand(band(s2, 'B01'), 15, 0, 10, 10)).toThrow(/B01.*outside/);
  });
});

describe('modality schema and registry', () => {
  it('validates factors and names the field', () => {
    expect(() => parseModality({ name: 'x', resolutionFactor: 1.5 }, 'run.yaml')).toThrow(/run\.yaml.*resolutionFactor/);
    expect(() => parseModality({ name: 'x', sizeFactor: 0 })).toThrow(/sizeFactor/);
    expect(parseModality({ name: 'x' })).toMatchObject({ resolutionFactor: 1, sizeFactor: 1 });
  });

  it('reads sweep suffixes', () => {
    const s = registry.get('s2-all@res0.3@size0.5');
    expect(s).toMatchObject({ name: 's2-all@res0.3@size0.5', resolutionFactor: 0.3, sizeFactor: 0.5 });
    expect(s.bands).toEqual(registry.get('s2-all').bands);
    expect(() => registry.get('s2-all@res1.5')).toThrow(/\(0, 1\]/);
    expect(() => registry.get('s2-all@zoom2')).toThrow(/@res<f>/);
    expect(() => registry.get('s2-everything')).toThrow(/unknown modality 's2-everything'.*s2-rgbn-10m/);
  });

  it('adds user modalities and refuses duplicates', () => {
    const r = ModalityRegistry.default();
    r.add({ name: 'my-nir', sensor: 'sentinel-2', bands: ['nir'] });
    expect(r.get('my-nir').bands).toEqual(['nir']);
    expect(() => r.add({ name: 's2-all' })).toThrow(/already defined/);
  });
});
