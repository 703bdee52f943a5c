// One door to every reader: `readDataset('<kind>:<path>')` for
// `atomizer shard --dataset <kind>:<path>`, yielding { sample, split } items,
// and `readSampleAt(path)` for `atomizer atoms <path>` (whatever one path is).

import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import type { SplitName } from '../split.js';
import type { Sample } from '../types.js';
import { bandNameFromFileName, isQualityBand, sceneIdFromFileName, stem } from './band-naming.js';
import { listBigEarthNetPatches, readBigEarthNetPatch } from './bigearthnet.js';
import { bigEarthNetClasses, type BigEarthNetNomenclature } from './bigearthnet-classes.js';
import { readBandFiles, readGeoTiff, type GeoSample } from './geotiff.js';
import { readSceneDescription } from './scene-description.js';
import { readSceneLabels, type SceneLabelOptions } from './scene-labels.js';
import { readStacItem, stacItemFiles } from './stac-item.js';
import { STATLOG_CLASSES, readStatlog } from './statlog.js';
import { displayLocation, isRemote } from './remote-location.js';
import { level1Note } from './landsat-level1.js';
import { isMtlPath, readLandsatMtl } from './landsat-mtl.js';

export const READER_KINDS = ['bigearthnet', 'statlog', 'geotiff', 'scene', 'stac'] as const;
export type ReaderKind = (typeof READER_KINDS)[number];

/**
 * A dataset to read: kind, path and the options of that kind's reader. The
 * scene options (labels, classField, patchSize, fractions ...) are
 * SceneLabelOptions' own, so the two cannot drift apart; sensor, bands and
 * catalog serve the geotiff and stac kinds too.
 */
export interface ReaderSpec extends Partial<Omit<SceneLabelOptions, 'scene'>> {
  kind: ReaderKind;
  path: string;
  /** bigearthnet: label nomenclature (default 19). */
  nomenclature?: BigEarthNetNomenclature;
  /** geotiff, stac: read on a grid this fraction of full resolution (an overview when the file has one; `?resolution=0.5`). */
  resolutionFactor?: number;
}

export interface DatasetItem {
  sample: Sample;
  split: SplitName;
}

/** A dataset being read: its items (async, read lazily where the layout allows) and what is known up front. */
export interface DatasetSource extends AsyncIterable<DatasetItem> {
  kind: ReaderKind;
  path: string;
  /** Class names the samples' labels index (for scenes: known once iteration has started). */
  classes: readonly string[] | undefined;
  /** Number of items when known before reading them. */
  total?: number;
  /** multi: multi-label (BigEarthNet); single: one label per sample; none: unlabelled imagery. */
  task: 'multi' | 'single' | 'none';
  /** What the reading did to the units, once per scene (a Landsat MTL applied): filled as items are read. */
  notes: string[];
  items: AsyncIterable<DatasetItem>;
}

const NUMERIC = new Set(['nomenclature', 'patchSize', 'stride', 'maxPerGroup', 'seed', 'blockSize', 'resolutionFactor', 'scale', 'offset']);
const QUERY_ALIASES: Record<string, string> = {
  k: 'patchSize',
  field: 'classField',
  classes: 'classTable',
  id: 'idField',
  resolution: 'resolutionFactor',
};

/**
 * Parse `<kind>:<path>[?key=value&...]` (e.g.
 * `scene:/d/sen2.tif?labels=/d/sen2_polygons.geojson&sensor=s2a&k=5`).
 * Paths may be URLs (http(s)://, s3://bucket/key) for the geotiff and stac
 * kinds; their query strings cannot carry options then (use a URL without one).
 * A `scene:` path ending in .json/.yaml/.yml is a description file holding
 * the same options plus `scene` (paths relative to the file) and the bands'
 * scale/offset (scene-description.ts).
 */
export function parseReaderSpec(spec: string | ReaderSpec): ReaderSpec {
  if (typeof spec !== 'string') {
    if (!(READER_KINDS as readonly string[]).includes(spec.kind)) {
      throw new Error(`unknown dataset kind '${spec.kind}'; expected one of ${READER_KINDS.join(', ')}`);
    }
    return spec;
  }
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new Error(`dataset '${spec}' has no kind; write <kind>:<path> with kind one of ${READER_KINDS.join(', ')}`);
  const kind = spec.slice(0, colon).toLowerCase();
  if (!(READER_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`unknown dataset kind '${kind}' in '${spec}'; expected one of ${READER_KINDS.join(', ')}`);
  }
  const rest = spec.slice(colon + 1);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  if (path === '') throw new Error(`dataset '${spec}' has no path; write ${kind}:<path>`);
  const out: Record<string, unknown> = { kind, path };
  if (q >= 0) {
    for (const [rawKey, value] of new URLSearchParams(rest.slice(q + 1))) {
      const key = QUERY_ALIASES[rawKey] ?? rawKey;
      if (key === 'bands') out.bands = value.split(',').filter((b) => b !== '');
      else if (NUMERIC.has(key)) {
        const n = Number(value);
        if (!Number.isFinite(n)) throw new Error(`dataset '${spec}': option ${rawKey}=${value} is not a number`);
        out[key] = n;
      } else if (key === 'fractions') {
        const [train, val, test] = value.split(',').map(Number);
        out.fractions = { train, val, test };
      } else out[key] = value;
    }
  }
  return out as unknown as ReaderSpec;
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Open a dataset. BigEarthNet folders here carry no official split: their
 * items come as 'train' and the dataset builder splits them by name hash.
 * Statlog uses its standard split; scenes split by label group; plain
 * GeoTIFFs and STAC Items (unlabelled) come as 'train'.
 */
export function readDataset(specIn: string | ReaderSpec): DatasetSource {
  const spec = parseReaderSpec(specIn);
  const catalogOpt = spec.catalog !== undefined ? { catalog: spec.catalog } : {};
  const source: DatasetSource = {
    kind: spec.kind,
    path: spec.path,
    classes: undefined,
    task: 'none',
    notes: [],
    items: { [Symbol.asyncIterator]: () => gen()[Symbol.asyncIterator]() },
    [Symbol.asyncIterator]: () => source.items[Symbol.asyncIterator](),
  };
  let gen: () => AsyncIterable<DatasetItem>;
  const noteRadiometry = (r: GeoSample['geo']['radiometry']) => {
    const note = r !== undefined ? level1Note(r) : undefined;
    if (note !== undefined && !source.notes.includes(note)) source.notes.push(note);
  };
  // Unlabelled imagery: no classes, one sample per unit the lister finds, all 'train'.
  const unlabelled = <T>(list: () => Promise<T[]>, read: (unit: T) => Promise<Sample>) => {
    source.classes = [];
    return async function* (): AsyncGenerator<DatasetItem> {
      const units = await list();
      source.total = units.length;
      for (const u of units) {
        const sample = await read(u);
        noteRadiometry((sample as Partial<GeoSample>).geo?.radiometry);
        yield { sample, split: 'train' };
      }
    };
  };
  switch (spec.kind) {
    case 'bigearthnet': {
      source.task = 'multi';
      source.classes = bigEarthNetClasses(spec.nomenclature ?? 19);
      gen = async function* () {
        const patches = await listBigEarthNetPatches(spec.path);
        if (patches.length === 0)
          throw new Error(`${spec.path}: no BigEarthNet patch folders found (folders holding <patch>_labels_metadata.json)`);
        source.total = patches.length;
        for (const p of patches) {
          yield { sample: await readBigEarthNetPatch(p, definedOnly({ nomenclature: spec.nomenclature, ...catalogOpt })), split: 'train' };
        }
      };
      break;
    }
    case 'statlog': {
      source.task = 'single';
      source.classes = STATLOG_CLASSES;
      gen = async function* () {
        const items = await readStatlog(spec.path, catalogOpt);
        source.total = items.length;
        yield* items;
      };
      break;
    }
    case 'geotiff': {
      const opts = definedOnly({
        sensor: spec.sensor,
        bands: spec.bands,
        resolutionFactor: spec.resolutionFactor,
        scale: spec.scale,
        offset: spec.offset,
        // An MTL given as the path is the MTL of its band files.
        mtl: spec.mtl ?? (isMtlPath(spec.path) ? spec.path : undefined),
        ...catalogOpt,
      });
      gen = unlabelled(
        () => imageGroups(spec.path),
        (g) => (g.length === 1 ? readGeoTiff(g[0] as string, opts) : readBandFiles(g, opts)),
      );
      break;
    }
    case 'scene': {
      source.task = 'single';
      gen = async function* () {
        const ext = extname(spec.path).toLowerCase();
        const described =
          ext === '.json' || ext === '.yaml' || ext === '.yml' ? await readSceneDescription(spec.path) : { scene: spec.path };
        const opts = definedOnly({ ...described, ...spec, ...catalogOpt, scene: described.scene ?? spec.path }) as SceneLabelOptions & {
          kind?: string;
          path?: string;
        };
        delete opts.kind;
        delete opts.path;
        if (opts.labels === undefined) {
          throw new Error(
            `dataset scene:${spec.path}: no labels given; pass labels=<polygons.geojson | labels.tif> (and classTable=<csv> for a label raster)`,
          );
        }
        const result = await readSceneLabels(opts);
        noteRadiometry(result.radiometry);
        source.classes = result.classes;
        source.total = result.items.length;
        for (const item of result.items) yield { sample: item.sample, split: item.split };
      };
      break;
    }
    case 'stac': {
      // One sample per STAC Item: a .json file, or every .json of a folder.
      gen = unlabelled(
        () => stacItemFiles(spec.path, catalogOpt),
        (r) =>
          readStacItem(r.location, {
            ...catalogOpt,
            ...(r.item !== undefined ? { item: r.item } : {}),
            ...(spec.resolutionFactor !== undefined ? { resolutionFactor: spec.resolutionFactor } : {}),
          }),
      );
      break;
    }
  }
  return source;
}

/**
 * The .tif files of a folder grouped into samples: band files
 * (`<scene>_B4.TIF` ...) sharing a scene name form one sample (quality bands
 * such as BQA skipped); any other .tif is a sample of its own. A file path is
 * one group; a Landsat MTL file (`..._MTL.txt|json`) is the group of the band
 * files it lists (mtlSceneFiles).
 */
export async function imageGroups(path: string): Promise<string[][]> {
  // A URL names one file (remote folders cannot be listed).
  if (isRemote(path)) return [[path]];
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new Error(`${path}: no such file or folder`);
  if (!info.isDirectory()) return isMtlPath(path) ? [await mtlSceneFiles(path)] : [[path]];
  const files = withoutDuplicateThermal((await readdir(path)).filter((f) => /\.tiff?$/i.test(f)).sort());
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const band = bandNameFromFileName(f);
    if (band !== undefined && isQualityBand(band)) continue;
    const key = band === undefined ? `file:${f}` : sceneIdFromFileName(f, band);
    const list = groups.get(key) ?? [];
    list.push(join(path, f));
    groups.set(key, list);
  }
  if (groups.size === 0) throw new Error(`${path}: no .tif files in this folder`);
  return [...groups.values()];
}

/**
 * Landsat 7 band 6 comes twice, low gain (B6_VCID_1) and high gain
 * (B6_VCID_2), both the same catalogue band B6: a scene read keeps VCID_1.
 */
function withoutDuplicateThermal(files: string[]): string[] {
  return files.filter((f) => !/_B6_VCID_2\.tiff?$/i.test(f) || !files.includes(f.replace(/VCID_2/i, 'VCID_1')));
}

/** The band files a Landsat MTL lists (beside it), as a folder read takes them: no quality layer, one of B6_VCID_1/2. */
async function mtlSceneFiles(path: string): Promise<string[]> {
  const mtl = await readLandsatMtl(path);
  const listed = [...mtl.bands.values()].flatMap((b) => (b.file !== undefined ? [{ key: b.key, file: b.file }] : []));
  if (listed.length === 0) throw new Error(`${path}: lists no band file (FILE_NAME_BAND_<n>); expected a Level-1 MTL`);
  const keep = new Set(withoutDuplicateThermal(listed.map((b) => b.file)));
  const files: string[] = [];
  for (const b of listed.filter((x) => keep.has(x.file))) {
    const file = join(dirname(path), b.file);
    if ((await stat(file).catch(() => undefined)) === undefined)
      throw new Error(
        `${path}: FILE_NAME_BAND_${b.key} is ${b.file}, which is not beside it; expected the scene's band files in the MTL's folder`,
      );
    files.push(file);
  }
  return files;
}

/** Options of readSampleAt: the reader options that apply to one image. */
export type ReadSampleOptions = Pick<ReaderSpec, 'sensor' | 'bands' | 'nomenclature' | 'catalog' | 'resolutionFactor' | 'mtl'>;

/**
 * Read whatever one path is: a BigEarthNet patch folder, a folder of one
 * scene's band files, a GeoTIFF file or a STAC Item (.json).
 */
export async function readSampleAt(path: string, opts: ReadSampleOptions = {}): Promise<GeoSample> {
  if (isRemote(path)) {
    const bare = path.replace(/[?#].*$/, '');
    if (/\.json$/i.test(bare)) return readStacItem(path, definedOnly({ catalog: opts.catalog, resolutionFactor: opts.resolutionFactor }));
    if (/\.tiff?$/i.test(bare)) return readGeoTiff(path, opts);
    throw new Error(`${displayLocation(path)}: a URL must name a GeoTIFF (.tif) or a STAC Item (.json)`);
  }
  const full = resolve(path);
  const info = await stat(full).catch(() => undefined);
  if (info === undefined) throw new Error(`${path}: no such file or folder`);
  if (!info.isDirectory() && isMtlPath(full)) {
    const g = (await imageGroups(full))[0] as string[];
    const withMtl = { ...opts, mtl: opts.mtl ?? full };
    return g.length === 1 ? readGeoTiff(g[0] as string, withMtl) : readBandFiles(g, withMtl);
  }
  if (!info.isDirectory() && /\.json$/i.test(full))
    return readStacItem(full, definedOnly({ catalog: opts.catalog, resolutionFactor: opts.resolutionFactor }));
  if (info.isDirectory()) {
    const patches = await listBigEarthNetPatches(full).catch(() => []);
    if (patches.length === 1 && patches[0] === full) {
      return readBigEarthNetPatch(full, definedOnly({ nomenclature: opts.nomenclature, catalog: opts.catalog }));
    }
    const groups = await imageGroups(full);
    if (groups.length !== 1) {
      throw new Error(
        `${path}: holds ${groups.length} images (${groups
          .map((g) => stem(g[0] as string))
          .slice(0, 5)
          .join(', ')}${groups.length > 5 ? ', ...' : ''}); point at one file or at a folder of one scene's band files`,
      );
    }
    const g = groups[0] as string[];
    return g.length === 1 ? readGeoTiff(g[0] as string, opts) : readBandFiles(g, opts);
  }
  if (!/\.tiff?$/i.test(full)) {
    throw new Error(
      `${path}: not a GeoTIFF (.tif), a STAC Item (.json), a Landsat MTL nor a folder; expected a .tif, a STAC Item, a Landsat _MTL.txt, a band-file folder or a BigEarthNet patch folder`,
    );
  }
  return readGeoTiff(full, opts);
}
