import { z } from 'zod';
import { resampleBand } from './resample.js';
import type { BandRaster, BandSpec, Sample } from './types.js';

// A sensor simulated from another sensor's image (issue 11's cross-sensor test
// bed): the same ground seen by a sensor whose bands, pixels and digital
// numbers differ, with no hand mapping of bands anywhere.
//
// Each target band (centre and width from the catalogue) is the mean of the
// source's spectral bands weighted by how many nanometres of the target's
// interval [centre - width/2, centre + width/2] each source interval covers;
// each source band is first area-resampled onto the target's pixel grid (its
// GSD over the sample's footprint). The result is quantised to the target's
// digital numbers, DN = round((value - offset) / gain) clamped to [1, 2^bits - 1],
// 0 for a pixel with no valid source value, and stored with scale = gain and
// offset = offset, so that physical = DN * scale + offset as for any band read
// from a file (STAC raster:bands, Landsat MTL gains). The source's physical
// values must be in the unit the target's gain and offset describe
// (reflectance for the bundled Sentinel-2 data).

export const SimulationSchema = z
  .object({
    /** The simulated sensor: a catalogue id or alias ('landsat-5-tm', 'landsat-8', 'landsat-mss'). */
    sensor: z.string().min(1),
    /** Target band or group names. Absent: every spectral band of the target that the source's bands overlap. */
    bands: z.array(z.string().min(1)).min(1).optional(),
    /** Pixel size of every target band, metres. Absent: each band's catalogue GSD. */
    gsdM: z.number().positive().optional(),
    /** Digital numbers of `bits` bits (1-16; 8 or fewer stored as uint8, else uint16). */
    bits: z.number().int().min(1).max(16).default(16),
    /** physical = DN * gain + offset. Default: Landsat Collection 2 Level-2 reflectance (2.75e-5, -0.2). */
    gain: z.number().positive().default(2.75e-5),
    offset: z.number().default(-0.2),
  })
  .strict();

export type Simulation = z.infer<typeof SimulationSchema>;

/** What simulation needs from the sensor catalogue (SensorCatalog satisfies it). */
export interface SimulationCatalog {
  get(sensorIdOrAlias: string): { id: string; bands: readonly BandSpec[] };
  resolveGroup(sensorIdOrAlias: string, groupOrBandNames: string[]): BandSpec[];
}

export type SpectralRaster = BandRaster & { kind: 'spectral' };

/** Nanometres of [a.centre ± a.width/2] inside [b.centre ± b.width/2]. */
function overlapNm(a: { wavelengthNm: number; bandwidthNm: number }, b: { wavelengthNm: number; bandwidthNm: number }): number {
  const lo = Math.max(a.wavelengthNm - a.bandwidthNm / 2, b.wavelengthNm - b.bandwidthNm / 2);
  const hi = Math.min(a.wavelengthNm + a.bandwidthNm / 2, b.wavelengthNm + b.bandwidthNm / 2);
  return Math.max(0, hi - lo);
}

/**
 * The weight of each source band in a target band: nanometres of overlap,
 * normalised to sum to 1 (all zeros when nothing overlaps).
 */
export function spectralWeights(
  target: { wavelengthNm: number; bandwidthNm: number },
  sources: readonly { wavelengthNm: number; bandwidthNm: number }[],
): number[] {
  const nm = sources.map((s) => overlapNm(s, target));
  const total = nm.reduce((a, b) => a + b, 0);
  return total > 0 ? nm.map((x) => x / total) : nm;
}

/**
 * One target band from source bands on an ow x oh grid over their footprint:
 * each source band area-resampled onto the grid, then the overlap-weighted
 * mean of the valid ones per pixel (NaN where none is valid). Physical values.
 */
export function mixBands(
  sources: readonly SpectralRaster[],
  target: { wavelengthNm: number; bandwidthNm: number },
  ow: number,
  oh: number,
): Float32Array {
  const weights = spectralWeights(target, sources);
  const parts = sources.flatMap((s, i) => (weights[i]! > 0 ? [{ w: weights[i]!, v: resampleBand(s, ow, oh).values }] : []));
  const out = new Float32Array(ow * oh);
  for (let p = 0; p < out.length; p++) {
    let sum = 0;
    let wsum = 0;
    for (const { w, v } of parts) {
      const x = v[p]!;
      if (Number.isNaN(x)) continue;
      sum += w * x;
      wsum += w;
    }
    out[p] = wsum > 0 ? sum / wsum : Number.NaN;
  }
  return out;
}

const interval = (b: { wavelengthNm: number; bandwidthNm: number }): string =>
  `${Math.round(b.wavelengthNm - b.bandwidthNm / 2)}-${Math.round(b.wavelengthNm + b.bandwidthNm / 2)} nm`;

/** The target bands a simulation produces from these source bands (errors name what cannot be simulated). */
function targetBands(spec: Simulation, sources: readonly SpectralRaster[], catalog: SimulationCatalog, where: string): BandSpec[] {
  const sensor = catalog.get(spec.sensor);
  const covered = (b: BandSpec): boolean => b.kind === 'spectral' && sources.some((s) => overlapNm(s, b) > 0);
  if (spec.bands === undefined) {
    const bands = sensor.bands.filter(covered);
    if (bands.length === 0)
      throw new Error(`${where}: the source's bands (${sources.map(interval).join(', ')}) overlap no band of ${sensor.id}`);
    return bands;
  }
  const bands = catalog.resolveGroup(spec.sensor, spec.bands);
  for (const b of bands) {
    if (b.kind !== 'spectral')
      throw new Error(
        `${where}: band ${sensor.id}:${b.name} is a ${b.channelKind} channel, not a spectral band; only spectral bands can be simulated`,
      );
    if (!covered(b)) {
      throw new Error(
        `${where}: no source band overlaps ${sensor.id}:${b.name} (${interval(b)}); the source covers ${sources.map(interval).join(', ')}: leave ${b.name} out of simulate.bands`,
      );
    }
  }
  return bands;
}

/**
 * `sample` as seen by the simulated sensor: its bands replaced by the target's
 * (see the file comment); id, labels, time and source kept.
 */
export function simulateSensor(sample: Sample, spec: Simulation, catalog: SimulationCatalog): Sample {
  const where = `simulating ${spec.sensor} from sample ${sample.source ?? sample.id}`;
  const sources = sample.bands.filter((b): b is SpectralRaster => b.kind === 'spectral');
  if (sources.length === 0) throw new Error(`${where}: the sample has no spectral band to simulate from`);
  const sensorId = catalog.get(spec.sensor).id;
  // Every band of a sample covers one footprint; the finest band measures it best.
  const finest = sources.reduce((a, b) => (b.gsdM < a.gsdM ? b : a));
  const footW = finest.width * finest.gsdM;
  const footH = finest.height * finest.gsdM;
  const maxDn = 2 ** spec.bits - 1;
  const bands: BandRaster[] = [];
  for (const t of targetBands(spec, sources, catalog, where)) {
    if (t.kind !== 'spectral') continue; // targetBands admits spectral bands only
    const gsd = spec.gsdM ?? t.gsdM;
    const ow = Math.max(1, Math.round(footW / gsd));
    const oh = Math.max(1, Math.round(footH / gsd));
    const mixed = mixBands(sources, t, ow, oh);
    const dn = spec.bits <= 8 ? new Uint8Array(ow * oh) : new Uint16Array(ow * oh);
    for (let p = 0; p < dn.length; p++) {
      const x = mixed[p]!;
      if (Number.isNaN(x)) continue; // stays 0: nodata
      dn[p] = Math.min(maxDn, Math.max(1, Math.round((x - spec.offset) / spec.gain)));
    }
    bands.push({
      kind: 'spectral',
      wavelengthNm: t.wavelengthNm,
      bandwidthNm: t.bandwidthNm,
      name: t.name,
      sensor: sensorId,
      gsdM: footW / ow,
      width: ow,
      height: oh,
      values: dn,
      scale: spec.gain,
      offset: spec.offset,
      nodata: 0,
    });
  }
  return { ...sample, bands };
}
