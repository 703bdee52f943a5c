// A scene opened for windowed reading: a multi-band GeoTIFF, a folder of one
// scene's band files, or a STAC Item, with its bands named and described as
// readSampleAt names them, but no pixel read until a window is asked for. A
// window is given in pixels of the finest band; every other band is read on
// the same ground window. Memory is bounded by the window, not the scene.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BandRaster, BandSpec, Sample, Sensor } from '../types.js';
import type { GeoTags } from '../writers/tiff-encoding.js';
import { stem } from './band-naming.js';
import type { ReadSampleOptions } from './dataset.js';
import { imageGroups } from './dataset.js';
import { bigEarthNetPatchFiles, listBigEarthNetPatches } from './bigearthnet.js';
import { bandFileSpecs, checkSameFootprint, geoTiffBandSpecs, makeBand, type BandFilesOptions } from './geotiff.js';
import { givenScaling, level1Calibration, type Level1Radiometry } from './landsat-level1.js';
import { isMtlPath } from './landsat-mtl.js';
import { calibrateBand, type BandCalibration } from './landsat-toa.js';
import type { RasterGeo } from './geotiff-file.js';
import { openGeoTiffWindows, type GeoTiffWindowReader } from './geotiff-window.js';
import { stacItemAssetFiles } from './stac-item.js';
import { displayLocation, isRemote } from './remote-location.js';

interface WindowedBand {
  spec: BandSpec;
  sensor: Sensor;
  reader: GeoTiffWindowReader;
  /** Sample index in its file. */
  index: number;
  scale: number;
  offset: number;
  /** The item's nodata when it overrides the file's (STAC raster:bands). */
  nodata?: number;
  /** A Landsat Level-1 MTL's conversion of this band (landsat-toa.ts), over scale/offset/nodata. */
  calibration?: BandCalibration;
}

export interface SceneWindows {
  id: string;
  /** The files read. */
  files: string[];
  /** Grid of the finest band: windows are given in its pixels. */
  width: number;
  height: number;
  geo?: RasterGeo;
  /** Georeferencing tags of the finest band's file, to copy onto an output on its grid. */
  tags: GeoTags;
  /** `sensor:band` names in reading order. */
  bandNames: string[];
  /** Each band's own grid size, in reading order (coarser bands of band files are smaller). */
  bandGrids: Array<{ width: number; height: number }>;
  /** Each band's grid over its file's full resolution, per axis: 1 unless a resolution factor made it read an overview. */
  bandScales: Array<{ x: number; y: number }>;
  /** Set when a Landsat Level-1 MTL converts the bands to physical units (landsat-level1.ts). */
  radiometry?: Level1Radiometry;
  /** Every band of the ground window of w x h finest-band pixels at (x0, y0), inside the scene. */
  readWindow(x0: number, y0: number, w: number, h: number): Promise<Sample>;
  close(): Promise<void>;
}

/** Which pixels of a band of `size` pixels cover finest-band pixels [p0, p0 + n) of a `fineSize` grid: start and count. */
export function bandSpan(p0: number, n: number, size: number, fineSize: number): [number, number] {
  if (size === fineSize) return [p0, n];
  const r = size / fineSize;
  const start = Math.min(size - 1, Math.floor(p0 * r));
  const end = Math.max(start + 1, Math.min(size, Math.ceil((p0 + n) * r)));
  return [start, end - start];
}

async function openBands(
  path: string,
  opts: ReadSampleOptions,
): Promise<{ id: string; bands: WindowedBand[]; radiometry?: Level1Radiometry }> {
  const remote = isRemote(path);
  const bare = path.replace(/[?#].*$/, '');
  const full = remote ? path : resolve(path);
  const info = remote ? { isDirectory: () => false } : await stat(full).catch(() => undefined);
  if (info === undefined)
    throw new Error(`${path}: no such file or folder; give a GeoTIFF, a folder of one scene's band files or a STAC Item (.json)`);
  if (remote && isMtlPath(bare))
    throw new Error(
      `${displayLocation(path)}: a Landsat MTL is read beside its band files in a local folder; give the band files' URLs one by one, or a local copy of the scene`,
    );
  if (remote && !/\.(json|tiff?)$/i.test(bare))
    throw new Error(`${displayLocation(path)}: a URL must name a GeoTIFF (.tif) or a STAC Item (.json)`);
  const catalogOpt = opts.catalog !== undefined ? { catalog: opts.catalog } : {};
  // A coarser grid reads each file's overview closest to, not coarser than, the factor (no further resampling here).
  const windowOpts = opts.resolutionFactor !== undefined ? { resolutionFactor: opts.resolutionFactor } : {};
  if (!info.isDirectory() && !isMtlPath(full) && /\.json$/i.test(remote ? bare : full)) {
    const { item, sensor, catalog, files } = await stacItemAssetFiles(full, catalogOpt);
    const bands: WindowedBand[] = [];
    for (const a of files) {
      const reader = await openGeoTiffWindows(a.file, windowOpts);
      const { specs } = geoTiffBandSpecs(reader, { sensor: sensor.id, catalog, bands: a.bands });
      specs.forEach((spec, i) => {
        if (a.repeated.has(spec.name)) return;
        const m = reader.metadata[i] ?? {};
        const nodata = a.scaling[i]?.nodata;
        bands.push({
          spec,
          sensor,
          reader,
          index: i,
          scale: a.scaling[i]?.scale ?? m.scale ?? 1,
          offset: a.scaling[i]?.offset ?? m.offset ?? 0,
          ...(nodata !== undefined && !Number.isNaN(nodata) ? { nodata } : {}),
        });
      });
    }
    const order = new Map(sensor.bands.map((b, i) => [b.name, i]));
    bands.sort((x, y) => (order.get(x.spec.name) ?? 0) - (order.get(y.spec.name) ?? 0));
    return { id: item.id, bands };
  }
  let files: string[];
  let bandOpts: BandFilesOptions = opts;
  if (info.isDirectory() && (await listBigEarthNetPatches(full).catch(() => []))[0] === full) {
    const patch = await bigEarthNetPatchFiles(full, opts.catalog !== undefined ? { catalog: opts.catalog } : {});
    files = patch.files;
    bandOpts = patch.options;
  } else if (info.isDirectory() || isMtlPath(full)) {
    const groups = await imageGroups(full);
    if (groups.length !== 1) {
      throw new Error(
        `${path}: holds ${groups.length} images (${groups
          .map((g) => stem(g[0] as string))
          .slice(0, 5)
          .join(', ')}); point at one file or at a folder of one scene's band files`,
      );
    }
    files = groups[0] as string[];
  } else {
    if (!/\.tiff?$/i.test(remote ? bare : full))
      throw new Error(`${path}: not a GeoTIFF (.tif), a STAC Item (.json) nor a folder; give one of those`);
    files = [full];
  }
  // An MTL given as the input is the MTL of its band files.
  const mtlOpt = opts.mtl ?? (isMtlPath(full) ? full : undefined);
  const mtl = mtlOpt !== undefined ? { mtl: mtlOpt } : {};
  if (files.length === 1) {
    const reader = await openGeoTiffWindows(files[0] as string, windowOpts);
    const { sensor, specs, names } = geoTiffBandSpecs(reader, opts);
    const l1 = await level1Calibration({
      files: specs.map(() => files[0] as string),
      rawNames: names,
      names: specs.map((s) => s.name),
      given: specs.map((_, i) => givenScaling(undefined, {}, reader.metadata[i] ?? {})),
      ...mtl,
    }).catch(closing([reader]));
    return {
      id: stem((files[0] as string).replace(/[?#].*$/, '')),
      bands: specs.map((spec, i) => ({
        spec,
        sensor,
        reader,
        index: i,
        scale: reader.metadata[i]?.scale ?? 1,
        offset: reader.metadata[i]?.offset ?? 0,
        ...(l1?.bands[i] !== undefined ? { calibration: l1.bands[i] } : {}),
      })),
      ...(l1 !== undefined ? { radiometry: l1.radiometry } : {}),
    };
  }
  const { sensor, specs, order, names } = bandFileSpecs(files, bandOpts);
  const readers = await Promise.all(files.map((f) => openGeoTiffWindows(f, windowOpts)));
  for (const r of readers) if (r.bandCount !== 1) throw new Error(`${r.path}: ${r.bandCount} bands in a band file; expected exactly 1`);
  const l1 = await level1Calibration({
    files,
    rawNames: names,
    names: specs.map((s) => s.name),
    given: readers.map((r) => givenScaling(undefined, bandOpts, r.metadata[0] ?? {})),
    ...mtl,
  }).catch(closing(readers));
  return {
    id: stem(files[0] as string),
    bands: order.map((i) => {
      const reader = readers[i] as GeoTiffWindowReader;
      const m = reader.metadata[0] ?? {};
      return {
        spec: specs[i] as BandSpec,
        sensor,
        reader,
        index: 0,
        scale: bandOpts.scale ?? m.scale ?? 1,
        offset: bandOpts.offset ?? m.offset ?? 0,
        ...(l1?.bands[i] !== undefined ? { calibration: l1.bands[i] } : {}),
      };
    }),
    ...(l1 !== undefined ? { radiometry: l1.radiometry } : {}),
  };
}

/** A rejection handler that closes the readers opened so far, then rethrows. */
function closing(readers: readonly GeoTiffWindowReader[]): (err: unknown) => Promise<never> {
  return async (err) => {
    await Promise.all(readers.map((r) => r.close()));
    throw err;
  };
}

/** Open a scene for windowed reading (see the file comment); `opts` as readSampleAt takes them (sensor, band names). */
export async function openSceneWindows(path: string, opts: ReadSampleOptions = {}): Promise<SceneWindows> {
  const { id, bands, radiometry } = await openBands(path, opts);
  const readers = [...new Set(bands.map((b) => b.reader))];
  try {
    if (readers.length > 1) checkSameFootprint(readers);
  } catch (err) {
    await Promise.all(readers.map((r) => r.close()));
    throw err;
  }
  const finest = readers.reduce((a, b) => (b.geo !== undefined && (a.geo === undefined || b.geo.gsdM < a.geo.gsdM) ? b : a));
  const width = finest.width;
  const height = finest.height;
  const scene: SceneWindows = {
    id,
    files: readers.map((r) => r.path),
    width,
    height,
    tags: finest.tags,
    bandNames: bands.map((b) => `${b.sensor.id}:${b.spec.name}`),
    bandGrids: bands.map((b) => ({ width: b.reader.width, height: b.reader.height })),
    bandScales: bands.map((b) => b.reader.overview?.scale ?? { x: 1, y: 1 }),
    async readWindow(x0, y0, w, h) {
      if (x0 < 0 || y0 < 0 || w < 1 || h < 1 || x0 + w > width || y0 + h > height) {
        throw new Error(`${path}: window ${w}x${h} at (${x0}, ${y0}) is not inside the ${width}x${height} scene`);
      }
      // One read per file: every band of a multi-band file comes from the same window.
      const cache = new Map<
        GeoTiffWindowReader,
        Promise<{ values: Awaited<ReturnType<GeoTiffWindowReader['readWindow']>>; span: [number, number, number, number] }>
      >();
      const read = (r: GeoTiffWindowReader) => {
        let p = cache.get(r);
        if (p === undefined) {
          const [c0, cw] = bandSpan(x0, w, r.width, width);
          const [r0, rh] = bandSpan(y0, h, r.height, height);
          p = r.readWindow(c0, r0, cw, rh).then((values) => ({ values, span: [c0, r0, cw, rh] }));
          cache.set(r, p);
        }
        return p;
      };
      const out: BandRaster[] = [];
      for (const b of bands) {
        const { values, span } = await read(b.reader);
        const gsdM = b.reader.geo?.gsdM ?? b.spec.gsdM;
        const raw = values[b.index]!;
        const r =
          b.calibration !== undefined
            ? calibrateBand(raw, b.calibration)
            : { values: raw, scale: b.scale, offset: b.offset, nodata: b.nodata ?? b.reader.nodata };
        out.push(makeBand(b.spec, b.sensor, r.values, span[2], span[3], gsdM, r.scale, r.offset, r.nodata));
      }
      return { id: `${id}@${x0},${y0}`, bands: out, labels: [], source: path };
    },
    async close() {
      await Promise.all(readers.map((r) => r.close()));
    },
  };
  if (finest.geo !== undefined) scene.geo = finest.geo;
  if (radiometry !== undefined) scene.radiometry = radiometry;
  return scene;
}
