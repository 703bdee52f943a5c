import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ModalitySchema, type BandNameResolver, type Modality } from './modality.js';
import { ModalityRegistry } from './modality-registry.js';

// Train / validation / test modality lists (ATOMIZER.md section 5). They must
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
  const sensor = m.sensor?.toLowerCase() ?? '*';
  let bands: string[] | '*' = '*';
  if (m.bands !== undefined) {
    bands = m.bands.map((b) => b.toLowerCase());
    if (m.sensor !== undefined && catalog?.has(m.sensor) === true) {
      try {
        bands = catalog.resolveGroup(m.sensor, m.bands).map((b) => b.name.toLowerCase());
      } catch {
        // An unknown name is reported when the modality is applied; here the raw names suffice.
      }
    }
    bands = [...new Set(bands)].sort();
  }
  const f = (x: number) => Number(x.toPrecision(9));
  return JSON.stringify({ sensor, bands, res: f(m.resolutionFactor), size: f(m.sizeFactor) });
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
}

/** Validate a lists config, resolve names through the registry and check disjointness. */
export function resolveModalityLists(
  config: unknown,
  opts: { registry?: ModalityRegistry; catalog?: BandNameResolver; source?: string } = {},
): ModalityLists {
  const source = opts.source ?? 'modalities';
  const parsed = ModalityListsConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
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

/** 'seen' when the modality (by name or by transform) is in the train list, else 'unseen'. */
export function seenTag(m: Modality, lists: ModalityLists, catalog?: BandNameResolver): 'seen' | 'unseen' {
  const key = modalityKey(m, catalog);
  return lists.train.some((t) => t.name === m.name || modalityKey(t, catalog) === key) ? 'seen' : 'unseen';
}

/**
 * Default lists for Sentinel-2 datasets (our choice): train on the full
 * 12-band and the 10 m views, validate on RGB, test on views never trained on
 * (ATOMIZER.md section 5 table).
 */
export const DEFAULT_S2_MODALITY_LISTS: ModalityListsConfig = {
  train: ['s2-all', 's2-rgbn-10m'],
  val: ['s2-rgb'],
  test: ['s2-swir-only', 's2-all-20m', 's2-rededge-crop'],
};
