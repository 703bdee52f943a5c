// A scene description file (`scene:<file>.yaml|.json`): the options of a
// labelled scene (scene-labels.ts) in one file, paths relative to the file,
// plus the physical units of its bands where the files do not carry them
// (Landsat Collection 2 surface reflectance GeoTIFFs hold DN without any
// scale metadata). Scale and offset are given as a STAC item's raster:bands
// gives them, and reach the GeoTIFF reader the same way (its bandMeta):
//
//   scene: [sr_b4.tif, sr_b5.tif, sr_b6.tif]
//   scale: 0.0000275          # every band; or a list, one per band in file order
//   offset: -0.2
//
//   scene:                    # or per band file
//     - { path: sr_b4.tif, scale: 0.0000275, offset: -0.2 }
//     - ...
//
// Landsat Level-1 band files are converted by their MTL (landsat-level1.ts),
// found beside them, or named: `mtl: LC08_..._MTL.txt` (`mtl: off`: DN).

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { BandScaling } from './geotiff.js';
import type { SceneLabelOptions } from './scene-labels.js';

const SCALING_FIELDS = ['scale', 'offset', 'nodata'] as const;

/** Options of a scene description file (.json/.yaml), paths resolved against its folder, scale/offset checked. */
export async function readSceneDescription(path: string): Promise<Partial<SceneLabelOptions>> {
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read scene description (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${path}: expected an object with scene, labels, ...`);
  return sceneDescriptionOptions(parsed as Record<string, unknown>, path);
}

/** A description's fields as SceneLabelOptions (see the file comment); `path` names the file in errors and anchors relative paths. */
export function sceneDescriptionOptions(o: Record<string, unknown>, path: string): Partial<SceneLabelOptions> {
  const rel = (p: unknown, field: string): string => {
    if (typeof p !== 'string') throw new Error(`${path}: field '${field}' must be a path string`);
    return isAbsolute(p) ? p : join(dirname(path), p);
  };
  const num = (v: unknown, field: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${path}: field '${field}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const out: Record<string, unknown> = { ...o };
  delete out.scale;
  delete out.offset;
  // Per band, in file order: from per-file entries, or from scale/offset lists.
  let perBand: Array<BandScaling | undefined> | undefined;
  const entryScaling = (e: Record<string, unknown>, field: string): BandScaling | undefined => {
    const unknown = Object.keys(e).filter((k) => k !== 'path' && !(SCALING_FIELDS as readonly string[]).includes(k));
    if (unknown.length > 0)
      throw new Error(`${path}: ${field} has unknown field(s) ${unknown.join(', ')}; a scene file entry takes path, scale, offset, nodata`);
    const s: BandScaling = {};
    for (const f of SCALING_FIELDS) if (e[f] !== undefined) s[f] = num(e[f], `${field}.${f}`);
    return Object.keys(s).length > 0 ? s : undefined;
  };
  const fileOf = (e: unknown, field: string): { file: string; scaling?: BandScaling } => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return { file: rel(e, field) };
    const rec = e as Record<string, unknown>;
    const scaling = entryScaling(rec, field);
    return { file: rel(rec.path, `${field}.path`), ...(scaling !== undefined ? { scaling } : {}) };
  };
  if (Array.isArray(o.scene)) {
    const files = o.scene.map((e, i) => fileOf(e, `scene[${i}]`));
    out.scene = files.map((f) => f.file);
    if (files.some((f) => f.scaling !== undefined)) perBand = files.map((f) => f.scaling);
  } else if (o.scene !== undefined) {
    const f = fileOf(o.scene, 'scene');
    out.scene = f.file;
    // One (multi-band) file: its scale/offset apply to every band.
    if (f.scaling?.scale !== undefined) out.scale = f.scaling.scale;
    if (f.scaling?.offset !== undefined) out.offset = f.scaling.offset;
    if (f.scaling?.nodata !== undefined)
      throw new Error(`${path}: scene.nodata applies per band; give it per band file, or fix the file's nodata tag`);
  }
  for (const field of ['scale', 'offset'] as const) {
    const v = o[field];
    if (v === undefined) continue;
    if (!Array.isArray(v)) {
      if (out[field] !== undefined) throw new Error(`${path}: ${field} is given twice (top level and in scene); keep one`);
      out[field] = num(v, field);
      continue;
    }
    if (perBand !== undefined && perBand.some((b) => b?.[field] !== undefined)) {
      throw new Error(`${path}: ${field} is given both as a list and per scene file; keep one`);
    }
    const list = v.map((x, i) => num(x, `${field}[${i}]`));
    perBand ??= list.map(() => undefined);
    if (list.length !== perBand.length)
      throw new Error(
        `${path}: ${field} lists ${list.length} values, another per-band field ${perBand.length}; give one per band in file order`,
      );
    perBand = perBand.map((b, i) => ({ ...b, [field]: list[i] }));
  }
  if (perBand !== undefined) out.bandMeta = perBand;
  if (o.labels !== undefined) out.labels = rel(o.labels, 'labels');
  // A Landsat Level-1 MTL: a path relative to the description, or auto/off (geotiff.ts).
  if (o.mtl !== undefined) out.mtl = o.mtl === 'auto' || o.mtl === 'off' ? o.mtl : rel(o.mtl, 'mtl');
  if (o.classTable !== undefined) out.classTable = rel(o.classTable, 'classTable');
  return out as Partial<SceneLabelOptions>;
}
