import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ModalitySchema, type BandNameResolver, type Modality } from './modality.js';
import { ModalityRegistry } from './modality-registry.js';

// Train / validation / test modality lists (docs/model.md section 5). They must
// be disjoint: a test modality was never seen in training. Metrics are then
// tagged seen/unseen from the train list.

/** A modality in a list: a registry name (sweeps included) or an inline definition. */
export const ModalityRefSchema = z.union([z.string().min(1), ModalitySchema]);

export const ModalityListsConfigSchema = z.object({
  train: z.array(ModalityRefSchema).min(1),
  val: z.array(ModalityRefSchema).default([]),
  test: z.array(ModalityRefSchema).default([]),
});

export type ModalityListsConfig = z.input<typeof ModalityListsConfigSchema>;

export interface ModalityLists {
  train: Modality[];
  val: Modality[];
  test: Modality[];
}

export type ModalityListName = keyof ModalityLists;
const LIST_NAMES: ModalityListName[] = ['train', 'val', 'test'];

/**
 * Canonical description of what a modality does, independent of its name:
 * sensor as written (a family name like 'sentinel-2' selects more than the
 * catalogue alias would, so it is not replaced by an id), the set of canonical band names (groups
 * expanded through the catalogue when the sensor is known), and the factors.
 * Two modalities with the same key are the same transform.
 */
export function modalityKey(m: Modality, catalog?: BandNameResolver): string {
  const f = (x: number) => Number(x.toPrecision(9));
  return JSON.stringify({
    ...(m.simulate !== undefined ? { simulate: { ...m.simulate, sensor: m.simulate.sensor.toLowerCase() } } : {}),
    sensor: m.sensor?.toLowerCase() ?? '*',
    bands: bandSet(m, catalog),
    res: f(m.resolutionFactor),
    size: f(m.sizeFactor),
  });
}

/** The modality's canonical band names (groups expanded when the sensor is catalogued), sorted; '*' for every band. */
function bandSet(m: Modality, catalog?: BandNameResolver): string[] | '*' {
  if (m.bands === undefined) return '*';
  let bands = m.bands.map((b) => b.toLowerCase());
  if (m.sensor !== undefined && catalog?.has(m.sensor) === true) {
    try {
      bands = catalog.resolveGroup(m.sensor, m.bands).map((b) => b.name.toLowerCase());
    } catch {
      // An unknown name is reported when the modality is applied; here the raw names suffice.
    }
  }
  return [...new Set(bands)].sort();
}

const EPS = 1e-9;
const within = (x: number, canonical: number, range: readonly [number, number] | undefined): boolean =>
  range === undefined ? Math.abs(x - canonical) <= EPS : x >= range[0] - EPS && x <= range[1] + EPS;

/**
 * Is `m` one of the views the training modality `train` can draw (its declared support)?
 * Same simulated sensor (or none on both); same sensor (a train modality without one covers any); bands: the same set, or with
 * `minBands` any subset of at least that many; each factor equal to the canonical one or
 * inside its declared range. Declared values are compared, not the pixel grids they give.
 */
export function insideSupport(m: Modality, train: Modality, catalog?: BandNameResolver): boolean {
  // A simulated sensor is a support of its own: the same simulation or none on both sides.
  if (JSON.stringify(m.simulate ?? null) !== JSON.stringify(train.simulate ?? null)) return false;
  const tSensor = train.sensor?.toLowerCase();
  if (tSensor !== undefined && m.sensor?.toLowerCase() !== tSensor) return false;
  const tb = bandSet(train, catalog);
  const mb = bandSet(m, catalog);
  if (train.minBands === undefined) {
    if (JSON.stringify(tb) !== JSON.stringify(mb)) return false;
  } else if (mb === '*') {
    if (tb !== '*') return false;
  } else {
    if (tb !== '*' && !mb.every((b) => tb.includes(b))) return false;
    if (tb !== '*' && mb.length < Math.min(train.minBands, tb.length)) return false;
    if (tb === '*' && mb.length < train.minBands) return false;
  }
  return (
    within(m.resolutionFactor, train.resolutionFactor, train.resolutionRange) && within(m.sizeFactor, train.sizeFactor, train.sizeRange)
  );
}

/** The first train modality whose support holds `m`, if any. */
export function supportHolding(m: Modality, lists: Pick<ModalityLists, 'train'>, catalog?: BandNameResolver): Modality | undefined {
  return lists.train.find((t) => insideSupport(m, t, catalog));
}

/** A one-line description of a modality's training support, for errors and logs. */
export function describeSupport(t: Modality): string {
  const parts = t.simulate !== undefined ? [`simulated ${t.simulate.sensor}`] : [];
  parts.push(`bands ${t.bands?.join('+') ?? 'all'}${t.minBands !== undefined ? ` (any ${t.minBands}+)` : ''}`);
  parts.push(
    t.resolutionRange !== undefined
      ? `resolution factor ${t.resolutionRange[0]}-${t.resolutionRange[1]}`
      : `resolution factor ${t.resolutionFactor}`,
  );
  parts.push(t.sizeRange !== undefined ? `size factor ${t.sizeRange[0]}-${t.sizeRange[1]}` : `size factor ${t.sizeFactor}`);
  return parts.join(', ');
}

/**
 * Reject lists that share a modality: the same name in two lists, or the same
 * transform under two names (also within one list, which would double-count
 * it). The error names the modalities and the lists.
 */
export function assertDisjoint(lists: ModalityLists, catalog?: BandNameResolver): void {
  const byName = new Map<string, ModalityListName>();
  const byKey = new Map<string, { list: ModalityListName; name: string }>();
  for (const list of LIST_NAMES) {
    for (const m of lists[list]) {
      const seen = byName.get(m.name);
      if (seen !== undefined) {
        throw new Error(
          seen === list
            ? `modality '${m.name}' appears twice in the ${list} list`
            : `modality '${m.name}' is in both the ${seen} and the ${list} lists; train, val and test modalities must be disjoint`,
        );
      }
      byName.set(m.name, list);
      const key = modalityKey(m, catalog);
      const same = byKey.get(key);
      if (same !== undefined) {
        throw new Error(
          `modality '${m.name}' (${list} list) is the same transform as '${same.name}' (${same.list} list); ` +
            'train, val and test modalities must be disjoint',
        );
      }
      byKey.set(key, { list, name: m.name });
    }
  }
  // A test modality is a view never trained on: it must lie outside every train modality's support.
  for (const m of lists.test) {
    const holder = supportHolding(m, lists, catalog);
    if (holder !== undefined) {
      throw new Error(
        `test modality '${m.name}' lies inside the training support of '${holder.name}' (${describeSupport(holder)}); ` +
          'a test modality must be a view training never draws: move it to the val list or narrow the support',
      );
    }
  }
}

/** Validate a lists config, resolve names through the registry and check disjointness. */
export function resolveModalityLists(
  config: unknown,
  opts: { registry?: ModalityRegistry; catalog?: BandNameResolver; source?: string } = {},
): ModalityLists {
  const source = opts.source ?? 'modalities';
  const parsed = ModalityListsConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${source}: invalid modality lists: ${issues}`);
  }
  const registry = opts.registry ?? ModalityRegistry.default();
  const lists: ModalityLists = { train: [], val: [], test: [] };
  for (const list of LIST_NAMES) {
    parsed.data[list].forEach((ref, i) => {
      try {
        lists[list].push(registry.resolve(ref, `${source}.${list}[${i}]`));
      } catch (err) {
        throw new Error(`${source}.${list}[${i}]: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }
  assertDisjoint(lists, opts.catalog);
  return lists;
}

/**
 * Read modality lists from a JSON or YAML file: `{ train: [...], val: [...], test: [...] }`,
 * each entry a registry name (sweeps included) or an inline modality definition;
 * the lists may also sit under a top-level `modalities` key (a run config).
 * Validated, resolved and checked disjoint; errors name the file and the field.
 */
export async function loadModalityListsFile(
  path: string,
  opts: { registry?: ModalityRegistry; catalog?: BandNameResolver } = {},
): Promise<ModalityLists> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new Error(`${path}: a modality lists file must end in .json, .yaml or .yml, got '${ext || '(no extension)'}'`);
  }
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new Error(`${path}: cannot read the modality lists file (${err instanceof Error ? err.message : String(err)})`);
  });
  let raw: unknown;
  try {
    raw = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: not valid ${ext === '.json' ? 'JSON' : 'YAML'} (${err instanceof Error ? err.message : String(err)})`);
  }
  const lists = raw !== null && typeof raw === 'object' && 'modalities' in raw ? (raw as { modalities: unknown }).modalities : raw;
  return resolveModalityLists(lists, { ...opts, source: path });
}

/** 'seen' when the modality (by name, by transform or inside a train modality's support) was trained on, else 'unseen'. */
export function seenTag(m: Modality, lists: ModalityLists, catalog?: BandNameResolver): 'seen' | 'unseen' {
  const key = modalityKey(m, catalog);
  return lists.train.some((t) => t.name === m.name || modalityKey(t, catalog) === key || insideSupport(m, t, catalog)) ? 'seen' : 'unseen';
}

/**
 * Default lists for Sentinel-2 datasets (our choice): train on the full
 * 12-band and the 10 m views, validate on RGB, test on views never trained on
 * (docs/model.md section 5 table).
 */
export const DEFAULT_S2_MODALITY_LISTS: ModalityListsConfig = {
  train: ['s2-all', 's2-rgbn-10m'],
  val: ['s2-rgb'],
  test: ['s2-swir-only', 's2-all-20m', 's2-rededge-crop'],
};
