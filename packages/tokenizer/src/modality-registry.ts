import { parseModality, type Modality, type ModalityInput } from './modality.js';

// Named modalities: the built-ins of docs/model.md section 5 plus a few more,
// user modalities from config, and factor sweeps written as a suffix of a
// name (`s2-all@res0.5`, `s2-rgbn-10m@size0.3`, `s2-all@res0.5@size0.5`), the
// way the authors sweep resolution and size factors 0.1..1.0 on the test split.

const S2_ALL = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B11', 'B12'];

/** The built-in modalities. Sentinel-2 ones select 'sentinel-2' (both S2A and S2B). */
export const BUILTIN_MODALITIES: readonly ModalityInput[] = [
  { name: 'native', description: 'every band of the sample as read' },
  { name: 's2-all', sensor: 'sentinel-2', bands: S2_ALL, description: 'the 12 BigEarthNet bands at native resolution' },
  { name: 's2-rgbn-10m', sensor: 'sentinel-2', bands: ['B02', 'B03', 'B04', 'B08'], description: 'the four 10 m bands' },
  { name: 's2-rgb', sensor: 'sentinel-2', bands: ['B02', 'B03', 'B04'], description: 'visible bands only' },
  {
    name: 's2-all-20m',
    sensor: 'sentinel-2',
    bands: S2_ALL,
    resolutionFactor: 0.5,
    description: 'all 12 bands at half resolution (10 m -> 20 m, 20 m -> 40 m, 60 m -> 120 m)',
  },
  { name: 's2-swir-only', sensor: 'sentinel-2', bands: ['B11', 'B12'], description: 'short-wave infrared only' },
  {
    name: 's2-rededge-crop',
    sensor: 'sentinel-2',
    bands: ['B05', 'B06', 'B07', 'B8A'],
    sizeFactor: 0.5,
    description: 'red edge bands, half the side',
  },
  { name: 's1-vv-vh', sensor: 'sentinel-1', bands: ['VV', 'VH'], description: 'Sentinel-1 dual polarisation' },
  { name: 'mss-all', sensor: 'landsat-mss', description: 'the four Landsat MSS bands (Statlog)' },
  // Landsat MSS (Statlog, 3x3 patches at 80 m). Train views leave out MSS7
  // (NIR 0.8-1.1 um); the unseen views bring it in, or coarsen the patch.
  {
    name: 'mss-grn',
    sensor: 'landsat-mss',
    bands: ['MSS4', 'MSS5', 'MSS6'],
    description: 'green + red + NIR 0.7-0.8 um (MSS4-6): every MSS band but MSS7',
  },
  { name: 'mss-gr', sensor: 'landsat-mss', bands: ['MSS4', 'MSS5'], description: 'green + red (MSS4, MSS5)' },
  { name: 'mss-rn', sensor: 'landsat-mss', bands: ['MSS5', 'MSS6'], description: 'red + NIR 0.7-0.8 um (MSS5, MSS6)' },
  { name: 'mss-gn', sensor: 'landsat-mss', bands: ['MSS4', 'MSS6'], description: 'green + NIR 0.7-0.8 um (MSS4, MSS6)' },
  {
    name: 'mss-gr-nir2',
    sensor: 'landsat-mss',
    bands: ['MSS4', 'MSS5', 'MSS7'],
    description: 'green + red + NIR 0.8-1.1 um (MSS7 in place of MSS6)',
  },
  { name: 'mss-r-nir2', sensor: 'landsat-mss', bands: ['MSS5', 'MSS7'], description: 'red + NIR 0.8-1.1 um (MSS5, MSS7)' },
  {
    name: 'mss-grn-240m',
    sensor: 'landsat-mss',
    bands: ['MSS4', 'MSS5', 'MSS6'],
    resolutionFactor: 1 / 3,
    description: 'MSS4-6 area-averaged to one 240 m pixel (a 3x3 Statlog patch -> 1x1)',
  },
  {
    name: 'mss-grn-120m',
    sensor: 'landsat-mss',
    bands: ['MSS4', 'MSS5', 'MSS6'],
    resolutionFactor: 2 / 3,
    description: 'MSS4-6 area-averaged to 2x2 pixels of 120 m (exact area weights over the 3x3 patch)',
  },
];

const SWEEP = /@(res|size)(\d*\.?\d+)/g;

/** Split `base@res0.5@size0.3` into its base name and factor overrides. */
export function parseSweepName(name: string): { base: string; resolutionFactor?: number; sizeFactor?: number } {
  const at = name.indexOf('@');
  if (at < 0) return { base: name };
  const base = name.slice(0, at);
  const suffix = name.slice(at);
  const out: { base: string; resolutionFactor?: number; sizeFactor?: number } = { base };
  let consumed = 0;
  for (const m of suffix.matchAll(SWEEP)) {
    if (m.index !== consumed) break;
    consumed += m[0].length;
    const value = Number(m[2]);
    if (!(value > 0 && value <= 1)) {
      throw new Error(`modality '${name}': factor ${m[2]} of @${m[1]} must be in (0, 1]`);
    }
    if (m[1] === 'res') out.resolutionFactor = value;
    else out.sizeFactor = value;
  }
  if (consumed !== suffix.length) {
    throw new Error(
      `modality '${name}': cannot read the suffix '${suffix}'; expected @res<f> and/or @size<f> with f in (0, 1], e.g. s2-all@res0.5`,
    );
  }
  return out;
}

export class ModalityRegistry {
  private readonly byName = new Map<string, Modality>();

  /** A registry holding the built-in modalities. */
  static default(): ModalityRegistry {
    const r = new ModalityRegistry();
    for (const m of BUILTIN_MODALITIES) r.add(m, 'built-in modalities');
    return r;
  }

  /** Add a user modality (validated); a name already taken -> Error. */
  add(input: unknown, source = 'modality config'): Modality {
    const m = parseModality(input, source);
    if (m.name.includes('@')) {
      throw new Error(`${source}: modality name '${m.name}' may not contain '@' (reserved for sweeps like s2-all@res0.5)`);
    }
    if (this.byName.has(m.name)) throw new Error(`${source}: modality '${m.name}' is already defined`);
    this.byName.set(m.name, m);
    return m;
  }

  has(name: string): boolean {
    try {
      this.get(name);
      return true;
    } catch {
      return false;
    }
  }

  /** A modality by name, sweeps included (`s2-all@res0.5`). Unknown -> Error listing the known names. */
  get(name: string): Modality {
    const { base, resolutionFactor, sizeFactor } = parseSweepName(name);
    const m = this.byName.get(base);
    if (m === undefined) {
      throw new Error(
        `unknown modality '${base}'; known: ${[...this.byName.keys()].join(', ')} ` +
          `(add @res<f> / @size<f> to sweep a factor, or define it in the config's modalities)`,
      );
    }
    if (base === name) return m;
    return {
      ...m,
      name,
      resolutionFactor: resolutionFactor ?? m.resolutionFactor,
      sizeFactor: sizeFactor ?? m.sizeFactor,
    };
  }

  /** A name from the registry, or an inline modality object (validated, not registered). */
  resolve(ref: string | ModalityInput, source = 'modality config'): Modality {
    return typeof ref === 'string' ? this.get(ref) : parseModality(ref, source);
  }

  list(): Modality[] {
    return [...this.byName.values()];
  }
}
