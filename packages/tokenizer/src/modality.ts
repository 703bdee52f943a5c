import { z } from 'zod';
import { allocRaster, dtypeOf } from './raster-dtype.js';
import { downsampleBand } from './resample.js';
import { SimulationSchema, simulateSensor } from './sensor-simulation.js';
import { builtinCatalog } from './sensors/index.js';
import type { BandRaster, BandSpec, RasterArray, Sample } from './types.js';

// A modality is a named way of presenting an image (docs/model.md section 5):
// which bands (or which sensor), what resolution factor, what spatial size.
// Applying one to a Sample gives another Sample; atomize() then derives the
// atoms' positions from the new grids, so a downsampled band's atoms sit on
// a sparser grid without any extra work here.

export const ModalitySchema = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._@:+-]*$/, 'letters, digits and . _ @ : + - only'),
    description: z.string().optional(),
    /** Present the image as another sensor would see it (sensor-simulation.ts), before the band subset, crop and resolution below. */
    simulate: SimulationSchema.optional(),
    /** Keep only bands of this sensor (catalogue id or alias; 'sentinel-2' also matches 'sentinel-2a'/'-2b'). A sample without any is rejected. */
    sensor: z.string().min(1).optional(),
    /** Band names or sensor group names ('rgb', 'rededge', '10m' ...), resolved through the catalogue. Absent: every band. */
    bands: z.array(z.string().min(1)).min(1).optional(),
    /** f in (0, 1]: each band is area-averaged to round(w*f) x round(h*f); its GSD becomes about gsd/f. */
    resolutionFactor: z.number().gt(0).lte(1).default(1),
    /** s in (0, 1]: keep a window of round(s*side) pixels, centred (eval) or seeded-random (train). */
    sizeFactor: z.number().gt(0).lte(1).default(1),
    // A training distribution (docs/training-recipe.md): in train mode each sample draws its own
    // view from these; evaluation presents the canonical view (the bands and factors above).
    /** Train: a random subset of the selected bands, of uniform size in [minBands, all]. Absent: always all of them. */
    minBands: z.number().int().min(1).optional(),
    /** Train: the resolution factor drawn uniformly from [lo, hi] (resolutionFactor must lie inside). */
    resolutionRange: z.tuple([z.number().gt(0).lte(1), z.number().gt(0).lte(1)]).optional(),
    /** Train: the size factor drawn uniformly from [lo, hi] (sizeFactor must lie inside). */
    sizeRange: z.tuple([z.number().gt(0).lte(1), z.number().gt(0).lte(1)]).optional(),
  })
  .superRefine((m, ctx) => {
    for (const [range, factor, field] of [
      [m.resolutionRange, m.resolutionFactor, 'resolutionRange'],
      [m.sizeRange, m.sizeFactor, 'sizeRange'],
    ] as const) {
      if (range === undefined) continue;
      if (range[0] > range[1])
        ctx.addIssue({ code: 'custom', path: [field], message: `[lo, hi] with lo <= hi, got [${range.join(', ')}]` });
      else if (factor < range[0] - 1e-12 || factor > range[1] + 1e-12) {
        ctx.addIssue({ code: 'custom', path: [field], message: `the canonical factor ${factor} must lie inside [${range.join(', ')}]` });
      }
    }
  });

export type Modality = z.infer<typeof ModalitySchema>;
export type ModalityInput = z.input<typeof ModalitySchema>;

/** Parse a modality definition (from config or JSON); errors name the source and the field. */
export function parseModality(input: unknown, source = 'modality'): Modality {
  const r = ModalitySchema.safeParse(input);
  if (r.success) return r.data;
  const name =
    typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
      ? ` '${(input as { name: string }).name}'`
      : '';
  const issues = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  throw new Error(`${source}: invalid modality${name}: ${issues}`);
}

/**
 * What applyModality needs from the sensor catalogue (SensorCatalog satisfies
 * it): expanding band/group names of a sensor, and knowing whether a sensor id
 * is catalogued (user sensors not in the catalogue match bands by name).
 */
export interface BandNameResolver {
  has(sensorIdOrAlias: string): boolean;
  get(sensorIdOrAlias: string): { id: string; family?: string; bands: readonly BandSpec[] };
  resolveGroup(sensorIdOrAlias: string, groupOrBandNames: string[]): BandSpec[];
}

/** The part of SeededRng that random crops need. */
export interface RandomSource {
  /** Uniform in [0, 1). */
  next(): number;
}

export interface ApplyModalityOptions {
  /** 'eval': centred crop; 'train': seeded random crop (needs `rng`). */
  mode: 'eval' | 'train';
  rng?: RandomSource;
  /** Default: the built-in SensorCatalog. */
  catalog?: BandNameResolver;
}

/**
 * Present `sample` as `modality`: the simulated sensor's bands (when the
 * modality simulates one), band subset, then crop (size factor), then
 * area-average downsampling (resolution factor). Cropping first keeps the
 * work proportional to what is kept; the window is chosen on the native grids.
 *
 * Output dtype: a band that is only subset or cropped keeps its stored dtype,
 * scale, offset and nodata. A downsampled band becomes float32 PHYSICAL values
 * (scale 1, offset 0, nodata undefined, NaN where no valid input pixel
 * contributed): an area average of integers is not an integer, and rounding
 * back would add quantisation noise the source never had.
 */
export function applyModality(sample: Sample, modality: Modality, opts: ApplyModalityOptions): Sample {
  const catalog = opts.catalog ?? builtinCatalog();
  const seen = modality.simulate === undefined ? sample : simulateSensor(sample, modality.simulate, catalog);
  let bands = selectBands(seen, modality, catalog);
  const draws = opts.mode === 'train' && isDistribution(modality);
  if (draws && opts.rng === undefined) {
    throw new Error(`modality '${modality.name}': drawing a training view (minBands, resolutionRange, sizeRange) needs a seeded rng`);
  }
  const rng = opts.rng as RandomSource;
  // Draw order (fixed, so a seed gives the same view everywhere): band subset, size, resolution.
  if (draws && modality.minBands !== undefined) bands = randomBandSubset(bands, modality.minBands, rng);
  const sizeFactor = draws && modality.sizeRange !== undefined ? drawIn(modality.sizeRange, rng) : modality.sizeFactor;
  const resolutionFactor =
    draws && modality.resolutionRange !== undefined ? drawIn(modality.resolutionRange, rng) : modality.resolutionFactor;
  if (sizeFactor < 1) {
    if (opts.mode === 'train' && opts.rng === undefined) {
      throw new Error(`modality '${modality.name}': a random crop (train mode, sizeFactor ${sizeFactor}) needs a seeded rng`);
    }
    bands = cropBands(bands, sizeFactor, opts.mode === 'train' ? opts.rng : undefined);
  }
  if (resolutionFactor < 1) {
    bands = bands.map((b) => downsampleBand(b, resolutionFactor));
  }
  return { ...seen, bands };
}

/** Does the modality declare a training distribution (a random band subset or factor ranges)? */
export function isDistribution(m: Modality): boolean {
  return m.minBands !== undefined || m.resolutionRange !== undefined || m.sizeRange !== undefined;
}

function drawIn(range: readonly [number, number], rng: RandomSource): number {
  return range[0] + (range[1] - range[0]) * rng.next();
}

/** k bands drawn uniformly, k uniform in [min(minBands, n), n]; kept in their original order. */
function randomBandSubset(bands: BandRaster[], minBands: number, rng: RandomSource): BandRaster[] {
  const n = bands.length;
  const lo = Math.min(minBands, n);
  const k = lo + Math.min(n - lo, Math.floor(rng.next() * (n - lo + 1)));
  if (k === n) return bands;
  const idx = bands.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.min(n - i - 1, Math.floor(rng.next() * (n - i)));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const keep = new Set(idx.slice(0, k));
  return bands.filter((_, i) => keep.has(i));
}

// ---------------------------------------------------------------- band subset

/** Does a modality's `sensor` select a band of sensor `bandSensor`? */
export function sensorMatches(modalitySensor: string, bandSensor: string, catalog: BandNameResolver): boolean {
  const want = modalitySensor.toLowerCase();
  const have = bandSensor.toLowerCase();
  if (want === have) return true;
  // A family name selects its members: 'sentinel-2' -> 'sentinel-2a', 'sentinel-2b';
  // 'landsat-5' -> 'landsat-5-tm'. Checked before the catalogue, whose alias
  // 'sentinel-2' points at one member only.
  if (have.startsWith(want) && /^-?[a-z]/.test(have.slice(want.length))) return true;
  // The catalogue's family of the band's sensor ('landsat-oli' -> landsat-8, landsat-9).
  if (catalog.has(bandSensor) && catalog.get(bandSensor).family?.toLowerCase() === want) return true;
  if (catalog.has(modalitySensor) && catalog.has(bandSensor)) {
    return catalog.get(modalitySensor).id === catalog.get(bandSensor).id;
  }
  return false;
}

function selectBands(sample: Sample, modality: Modality, catalog: BandNameResolver): BandRaster[] {
  const where = `modality '${modality.name}'`;
  const sampleName = sample.source ?? sample.id;
  let bands = sample.bands;
  if (modality.sensor !== undefined) {
    const sensor = modality.sensor;
    bands = bands.filter((b) => sensorMatches(sensor, b.sensor, catalog));
    if (bands.length === 0) {
      const have = [...new Set(sample.bands.map((b) => b.sensor))].join(', ');
      throw new Error(`${where} presents images of sensor '${sensor}', but sample ${sampleName} has bands of ${have} only`);
    }
  }
  if (modality.bands === undefined) return bands;

  // Resolve the names per sensor present in the sample (an S2A and an S2B
  // sample both know 'B02' and 'rgbn').
  const sensors = [...new Set(bands.map((b) => b.sensor))];
  const wanted = new Map<string, Set<string>>(); // sensor -> canonical band names (lower case)
  for (const s of sensors) wanted.set(s, new Set());
  for (const name of modality.bands) {
    let known = false;
    for (const s of sensors) {
      const names = resolveNames(catalog, s, name, bands);
      if (names === undefined) continue;
      known = true;
      for (const n of names) wanted.get(s)?.add(n);
    }
    if (!known) {
      throw new Error(
        `${where}: unknown band '${name}' for sensor ${sensors.join(', ')} (sample ${sampleName}); ` +
          `the sample has bands ${bands.map((b) => b.name).join(', ')}`,
      );
    }
  }
  const kept = bands.filter((b) => wanted.get(b.sensor)?.has(b.name.toLowerCase()) === true);
  if (kept.length === 0) {
    throw new Error(
      `${where} keeps no band of sample ${sampleName}: it asks for ${modality.bands.join(', ')}, ` +
        `the sample has ${bands.map((b) => b.name).join(', ')}`,
    );
  }
  return kept;
}

/** Canonical lower-case names a band/group name stands for in `sensor`, or undefined if unknown there. */
function resolveNames(catalog: BandNameResolver, sensor: string, name: string, bands: BandRaster[]): string[] | undefined {
  if (catalog.has(sensor)) {
    try {
      return catalog.resolveGroup(sensor, [name]).map((b) => b.name.toLowerCase());
    } catch {
      return undefined;
    }
  }
  // A user sensor outside the catalogue: match the sample's own band names.
  const hit = bands.find((b) => b.sensor === sensor && b.name.toLowerCase() === name.toLowerCase());
  return hit === undefined ? undefined : [hit.name.toLowerCase()];
}

// ---------------------------------------------------------------- crop

/**
 * Keep the same ground window in every band. Window side per band is
 * round(s * side) pixels. Eval: centred in each band. Train: the window's
 * origin is drawn on the COARSEST band's grid (in metres), so that every band
 * starts on a pixel edge of the same ground point whenever the grids nest
 * (BigEarthNet 10/20/60 m); with one resolution that is every pixel.
 */
export function cropBands(bands: BandRaster[], sizeFactor: number, rng: RandomSource | undefined): BandRaster[] {
  const coarse = Math.max(...bands.map((b) => b.gsdM));
  const fine = bands.reduce((a, b) => (b.gsdM < a.gsdM ? b : a));
  const footW = fine.width * fine.gsdM;
  const footH = fine.height * fine.gsdM;
  let x0m = 0;
  let y0m = 0;
  if (rng !== undefined) {
    // Number of coarse-grid positions the window can start at, per axis.
    const slotsX = Math.floor((footW * (1 - sizeFactor)) / coarse + 1e-9) + 1;
    const slotsY = Math.floor((footH * (1 - sizeFactor)) / coarse + 1e-9) + 1;
    x0m = Math.min(slotsX - 1, Math.floor(rng.next() * slotsX)) * coarse;
    y0m = Math.min(slotsY - 1, Math.floor(rng.next() * slotsY)) * coarse;
  }
  return bands.map((b) => {
    const cw = Math.max(1, Math.round(sizeFactor * b.width));
    const ch = Math.max(1, Math.round(sizeFactor * b.height));
    let c0: number;
    let r0: number;
    if (rng === undefined) {
      c0 = Math.floor((b.width - cw) / 2);
      r0 = Math.floor((b.height - ch) / 2);
    } else {
      c0 = Math.min(b.width - cw, Math.max(0, Math.round(x0m / b.gsdM)));
      r0 = Math.min(b.height - ch, Math.max(0, Math.round(y0m / b.gsdM)));
    }
    return cropBand(b, c0, r0, cw, ch);
  });
}

/** The window [c0, c0+cw) x [r0, r0+ch) of one band, in its stored dtype. */
export function cropBand(band: BandRaster, c0: number, r0: number, cw: number, ch: number): BandRaster {
  if (c0 < 0 || r0 < 0 || cw < 1 || ch < 1 || c0 + cw > band.width || r0 + ch > band.height) {
    throw new Error(
      `band ${band.sensor}:${band.name}: crop window ${cw}x${ch} at (${c0}, ${r0}) is outside its ${band.width}x${band.height} raster`,
    );
  }
  const out = allocLike(band.values, cw * ch);
  for (let r = 0; r < ch; r++) {
    const from = (r0 + r) * band.width + c0;
    out.set(band.values.subarray(from, from + cw), r * cw);
  }
  return { ...band, width: cw, height: ch, values: out };
}

function allocLike(values: RasterArray, n: number): RasterArray {
  const dtype = dtypeOf(values);
  if (dtype === undefined) throw new Error(`unsupported raster array type ${values.constructor.name}`);
  return allocRaster(dtype, n);
}
