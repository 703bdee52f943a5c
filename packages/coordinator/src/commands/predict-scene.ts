// `atomizer predict`: a run's checkpoint applied to every pixel of a scene,
// written as a Cloud-Optimized GeoTIFF on the scene's grid, in this process.
//
// The model classifies patches (the run's training samples are patches of a
// ground footprint, e.g. 5x5 pixels around a labelled pixel), so each output
// pixel gets the class of the patch centred on it (`stride` 1; with stride s,
// a patch centred in each s x s block gives the whole block its class). Patches
// at the scene's edge are shifted inwards to stay whole.
//
// The scene is streamed in windows, one per output tile (tile x tile pixels),
// read with a halo of half a patch on every side: the overlap lets the patches
// of a tile's border pixels see their real neighbours, and only the tile's
// centre (the window minus its halo) is written, so tile edges do not show and
// the map equals one computed on the whole scene at once. Memory is bounded by
// a window plus the COG writer's first overview (a quarter of the map).
//
// Bands are normalised as `atomizer eval` normalises them (normalisation.ts):
// the run's statistics, its sensor family's, else the scene's own (one extra
// pass over the windows, only when some band needs it). Checkpoint loading,
// its checks and the modality resolution are eval's (run-checkpoint.ts).

import { stat } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { predict } from '@atomizer/model';
import type { ObjectStore } from '@atomizer/protocol';
import {
  CogWriter,
  applyModality,
  bandSpan,
  cropBand,
  deriveSeed,
  displayLocation,
  isRemote,
  openSceneWindows,
  parseModality,
  type BandRaster,
  type Modality,
  type Sample,
  type SceneWindows,
} from '@atomizer/tokenizer';
import { buildEvalBatch, evalModality, type RunContext } from '@atomizer/worker';
import { seenOf } from './eval-checkpoint.js';
import { MAP_NODATA, MAX_MAP_CLASSES, argmax, encodeProbabilities, mapMetadata } from './map-encoding.js';
import { NormalisationBuilder, type BandNormalisation } from './normalisation.js';
import { checkStore } from './endpoints.js';
import { loadRunCheckpoint, openRun, trainingFootprintM } from './run-checkpoint.js';

export interface PredictSceneOptions {
  store: ObjectStore;
  run: string;
  /** 'latest' or a round number. */
  checkpoint?: string;
  /** A GeoTIFF, a folder of one scene's band files, or a STAC Item (.json). */
  input: string;
  /** The map to write (.tif). */
  out: string;
  /** One uint8 band per class (p x 254) instead of one class id per pixel. */
  probabilities?: boolean;
  /** Sensor and band names, for files whose bands are not named. */
  sensor?: string;
  bands?: string[];
  /** A modality of the run's lists, a registry name or inline JSON; default the run's first train modality that applies, else 'native'. */
  modality?: string;
  /** Patch side in pixels of the finest band; default the run's training footprint. */
  patch?: number;
  /** One patch per stride x stride block. Default 1 (a patch per pixel). */
  stride?: number;
  /** Output tile side = processing window (before the halo). Default 256. */
  tileSize?: number;
  /** Patches per forward pass. Default 512. */
  batchSize?: number;
  backend?: string | (() => Promise<string>);
  log?: (msg: string) => void;
  /** Called after each window (and each statistics window): phase, done, total. */
  onProgress?: (phase: 'statistics' | 'predict', done: number, total: number) => void;
}

export interface PredictSceneResult {
  run: string;
  checkpoint: { round: number; key: string; sha256: string; verified: boolean };
  input: { path: string; files: string[]; width: number; height: number; bands: string[]; epsg?: number };
  output: {
    path: string;
    bytes: number;
    encoding: 'class' | 'probabilities';
    dtype: 'uint8';
    nodata: number;
    /** Probabilities: value / scale = p. */
    scale?: number;
    tileSize: number;
    overviews: Array<[number, number]>;
    classNames: 'GDAL_METADATA';
  };
  model: { task: 'single' | 'multi'; classes: string[] };
  modality: { name: string; seen: 'seen' | 'unseen'; reason: string };
  patch: number;
  stride: number;
  /** Pixels of overlap read around each tile (half a patch). */
  halo: number;
  backend: string;
  normalisationStrategy: 'train-split' | 'image';
  normalisation: BandNormalisation[];
  classes: string[];
  /** Pixels per predicted class (top-1 for probabilities too). */
  pixels: Record<string, number>;
  nodataPixels: number;
  seconds: number;
  notes: string[];
}

const NATIVE: Modality = parseModality({ name: 'native', description: 'every band as read' });

/** Input and output paths checked before anything is loaded. */
async function checkPaths(input: string, out: string): Promise<void> {
  // A URL (http(s)://, s3://) is checked when the scene is opened: a 404 is an Error naming it.
  if (!isRemote(input) && (await stat(input).catch(() => undefined)) === undefined) {
    throw new Error(`--input ${input} does not exist; give a GeoTIFF, a folder of one scene's band files or a STAC Item (.json)`);
  }
  if (!/^\.tiff?$/i.test(extname(out))) throw new Error(`--out ${out}: the map is a GeoTIFF; give a path ending in .tif`);
  if (!isRemote(input) && resolve(out) === resolve(input)) throw new Error(`--out ${out} is the input; give another path`);
  const dir = await stat(dirname(resolve(out))).catch(() => undefined);
  if (dir === undefined || !dir.isDirectory()) throw new Error(`--out ${out}: folder ${dirname(resolve(out))} does not exist; create it first`);
}

/** Whether the pixel is missing (NaN or nodata) in every band on the finest grid. */
function missingEverywhere(fine: readonly BandRaster[], i: number): boolean {
  for (const b of fine) {
    const v = b.values[i] as number;
    if (v === v && v !== b.nodata) return false;
  }
  return true;
}

interface Geometry {
  W: number;
  H: number;
  /** Patch width/height (the patch side, or the scene's side when smaller). */
  kw: number;
  kh: number;
  halo: number;
}

/** Start of the whole patch centred on pixel c (shifted inwards at the edges). */
const patchStart = (c: number, halo: number, k: number, size: number): number => Math.max(0, Math.min(size - k, c - halo));

/** The window (scene pixels) a tile's patches read: [x0, y0, w, h]. */
function windowOf(g: Geometry, ox: number, oy: number, cols: number, rows: number): [number, number, number, number] {
  const x0 = patchStart(ox, g.halo, g.kw, g.W);
  const y0 = patchStart(oy, g.halo, g.kh, g.H);
  const x1 = patchStart(ox + cols - 1, g.halo, g.kw, g.W) + g.kw;
  const y1 = patchStart(oy + rows - 1, g.halo, g.kh, g.H) + g.kh;
  return [x0, y0, x1 - x0, y1 - y0];
}

/** A patch of the window sample: every band cropped on the ground of scene pixels [px, px + kw) x [py, py + kh). */
function cropPatch(win: Sample, scene: SceneWindows, wx: number, wy: number, px: number, py: number, g: Geometry): Sample {
  const bands = win.bands.map((b, i) => {
    const grid = scene.bandGrids[i]!;
    const [c0] = bandSpan(wx, 1, grid.width, g.W);
    const [r0] = bandSpan(wy, 1, grid.height, g.H);
    const [pc, pw] = bandSpan(px, g.kw, grid.width, g.W);
    const [pr, ph] = bandSpan(py, g.kh, grid.height, g.H);
    const cx = Math.min(pc - c0, b.width - 1);
    const cy = Math.min(pr - r0, b.height - 1);
    return cropBand(b, cx, cy, Math.min(pw, b.width - cx), Math.min(ph, b.height - cy));
  });
  return { id: `${win.id}:${px},${py}`, bands, labels: [] };
}

/** Predict a map of a scene (see the file comment). */
export async function predictScene(opts: PredictSceneOptions): Promise<PredictSceneResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const progress = opts.onProgress ?? (() => undefined);
  const notes: string[] = [];
  const probabilities = opts.probabilities === true;
  const stride = opts.stride ?? 1;
  const tileSize = opts.tileSize ?? 256;
  const chunk = Math.max(1, opts.batchSize ?? 512);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`--stride must be a positive integer, got ${stride}`);
  if (!Number.isInteger(tileSize) || tileSize < 16 || tileSize % 16 !== 0) throw new Error(`--tile-size must be a multiple of 16, got ${tileSize}`);

  // 1. Cheap checks first: paths, the store, the run, the checkpoint.
  await checkPaths(opts.input, opts.out);
  await checkStore(opts.store);
  const ctx = await openRun(opts.store, opts.run);
  const ck = await loadRunCheckpoint(opts.store, ctx, opts.checkpoint ?? 'latest');
  log(`run ${opts.run}: checkpoint round ${ck.round} (${ck.key}, sha256 ${ck.verified ? 'verified against latest.json' : 'not in latest.json, unverified'})`);
  const classes = [...ctx.manifest.classes];
  const C = ctx.model.numClasses;
  if (!probabilities && C > MAX_MAP_CLASSES) throw new Error(`run ${opts.run} has ${C} classes, more than a uint8 class map holds (${MAX_MAP_CLASSES}); use --probabilities`);
  if (!probabilities && ctx.model.task === 'multi') notes.push('multi-label run: each pixel holds its most probable class; --probabilities gives every class');

  // 2. The scene, by windows.
  const scene = await openSceneWindows(opts.input, { ...(opts.sensor !== undefined ? { sensor: opts.sensor } : {}), ...(opts.bands !== undefined ? { bands: opts.bands } : {}) });
  let writer: CogWriter | undefined;
  try {
    const W = scene.width;
    const H = scene.height;
    const fineGsd = scene.geo?.gsdM;
    let patch = opts.patch;
    if (patch === undefined) {
      const foot = await trainingFootprintM(opts.store, ctx);
      if (foot === undefined || fineGsd === undefined) throw new Error(`${opts.input}: cannot size patches (${foot === undefined ? 'the run has no stored training sample' : 'the scene has no georeferencing'}); give --patch <pixels>`);
      patch = Math.max(1, Math.round(foot / fineGsd));
    }
    if (!Number.isInteger(patch) || patch < 1) throw new Error(`--patch must be a positive integer, got ${patch}`);
    const g: Geometry = { W, H, kw: Math.min(patch, W), kh: Math.min(patch, H), halo: Math.floor(patch / 2) };
    if (g.kw < patch || g.kh < patch) notes.push(`the scene (${W}x${H}) is smaller than a patch (${patch}): patches are the whole scene`);
    const across = Math.ceil(W / tileSize);
    const down = Math.ceil(H / tileSize);
    const tiles = across * down;
    const tileRect = (t: number): [number, number, number, number] => {
      const tx = t % across;
      const ty = Math.floor(t / across);
      return [tx * tileSize, ty * tileSize, Math.min(tileSize, W - tx * tileSize), Math.min(tileSize, H - ty * tileSize)];
    };

    // 3. The modality, checked on the first window.
    const [fx, fy, fw, fh] = tileRect(0);
    const first = await scene.readWindow(...windowOf(g, fx, fy, fw, fh));
    let modality: Modality;
    if (opts.modality !== undefined) {
      try {
        modality = evalModality(ctx, opts.modality);
        if (applyModality(first, modality, { mode: 'eval' }).bands.length === 0) throw new Error('it keeps no band');
      } catch (err) {
        throw new Error(`--modality ${opts.modality}: ${(err as Error).message}; the scene's bands are ${scene.bandNames.join(', ')}`);
      }
    } else {
      const applies = (m: Modality) => {
        try {
          return applyModality(first, m, { mode: 'eval' }).bands.length > 0;
        } catch {
          return false;
        }
      };
      modality = ctx.modalities.train.find(applies) ?? NATIVE;
      if (modality === NATIVE) notes.push(`none of the run's train modalities applies to ${scene.bandNames.join(', ')}: predicted with every band as read ('native')`);
      else notes.push(`modality ${modality.name}: the run's first train modality that applies to the scene (choose another with --modality)`);
    }
    const view = applyModality(first, modality, { mode: 'eval' });
    const tag = seenOf(modality, view, ctx);

    // 4. Normalisation: as eval does it; the scene's own statistics need a pass over every window.
    const strategy = ctx.config.dataset.normalisation;
    let norm: { stats: RunContext['stats']; table: BandNormalisation[] } = { stats: ctx.stats, table: [] };
    if (strategy !== 'image') {
      const addTo = (b: NormalisationBuilder, s: Sample) => {
        b.add(s);
        if (modality.simulate !== undefined) b.add(applyModality(s, modality, { mode: 'eval' }));
      };
      let builder = new NormalisationBuilder(ctx);
      addTo(builder, first);
      if (builder.needsImageryStats) {
        builder = new NormalisationBuilder(ctx);
        for (let t = 0; t < tiles; t++) {
          addTo(builder, await scene.readWindow(...tileRect(t)));
          progress('statistics', t + 1, tiles);
        }
      }
      norm = builder.result();
    }
    const evalCtx: RunContext = { ...ctx, stats: norm.stats };
    const backend = typeof opts.backend === 'function' ? await opts.backend() : (opts.backend ?? 'unknown');
    log(`${scene.id}: ${W}x${H} pixels, ${scene.bandNames.length} bands; ${patch}x${patch}-pixel patches every ${stride} pixel(s), modality ${modality.name} (${tag.seen}); ${tiles} window(s) of ${tileSize} + ${g.halo} overlap`);

    // 5. Windows -> tiles of the map.
    const spp = probabilities ? C : 1;
    writer = await CogWriter.create({
      path: opts.out,
      width: W,
      height: H,
      samplesPerPixel: spp,
      dtype: 'uint8',
      tileSize,
      tags: { ...scene.tags, gdalNodata: String(MAP_NODATA), gdalMetadata: mapMetadata(classes, probabilities, { ATOMIZER_RUN: opts.run, ATOMIZER_CHECKPOINT: String(ck.round), ATOMIZER_MODALITY: modality.name }) },
    });
    const counts = new Array<number>(C).fill(0);
    let nodataPixels = 0;
    for (let t = 0; t < tiles; t++) {
      const [ox, oy, cols, rows] = tileRect(t);
      const [wx, wy, ww, wh] = windowOf(g, ox, oy, cols, rows);
      const win = t === 0 ? first : await scene.readWindow(wx, wy, ww, wh);
      const fine = win.bands.filter((b) => b.width === ww && b.height === wh);
      // One patch per block: centre pixel, and the block it paints.
      const blocks: Array<{ bx: number; by: number; bw: number; bh: number; cx: number; cy: number }> = [];
      for (let by = 0; by < rows; by += stride) {
        for (let bx = 0; bx < cols; bx += stride) {
          const bw = Math.min(stride, cols - bx);
          const bh = Math.min(stride, rows - by);
          blocks.push({ bx, by, bw, bh, cx: ox + bx + Math.floor((bw - 1) / 2), cy: oy + by + Math.floor((bh - 1) / 2) });
        }
      }
      const out = new Uint8Array(cols * rows * spp).fill(MAP_NODATA);
      const paint = (blk: (typeof blocks)[number], logits: Float32Array | undefined, at: number) => {
        const px = new Uint8Array(spp).fill(MAP_NODATA);
        if (logits !== undefined) {
          if (probabilities) encodeProbabilities(logits, at, C, ctx.model.task, px, 0);
          else px[0] = argmax(logits, at, C);
        }
        for (let y = blk.by; y < blk.by + blk.bh; y++) {
          for (let x = blk.bx; x < blk.bx + blk.bw; x++) {
            // A pixel missing in every band stays nodata even inside a predicted block.
            const missing = logits === undefined || (fine.length > 0 && missingEverywhere(fine, (oy + y - wy) * ww + (ox + x - wx)));
            if (missing) {
              nodataPixels++;
              continue;
            }
            out.set(px, (y * cols + x) * spp);
            counts[argmax(logits, at, C)]!++;
          }
        }
      };
      for (let start = 0, ci = 0; start < blocks.length; start += chunk, ci++) {
        const part = blocks.slice(start, start + chunk);
        const live: typeof part = [];
        for (const b of part) {
          if (fine.length > 0 && missingEverywhere(fine, (b.cy - wy) * ww + (b.cx - wx))) paint(b, undefined, 0);
          else live.push(b);
        }
        if (live.length === 0) continue;
        const samples = live.map((b) => cropPatch(win, scene, wx, wy, patchStart(b.cx, g.halo, g.kw, W), patchStart(b.cy, g.halo, g.kh, H), g));
        const built = buildEvalBatch(samples, modality, evalCtx, deriveSeed(ctx.config.seed, 0x9ed1, ck.round, t, ci));
        const dropped = new Set(built?.dropped ?? live.map((_, i) => i));
        const logits = built === undefined ? undefined : predict(ck.weights, built.batch, ctx.model);
        let row = 0;
        live.forEach((b, i) => {
          if (dropped.has(i) || logits === undefined) paint(b, undefined, 0);
          else paint(b, logits, row++ * C);
        });
      }
      await writer.writeTile(t % across, Math.floor(t / across), out);
      progress('predict', t + 1, tiles);
    }
    const layout = await writer.finish();
    writer = undefined;
    const result: PredictSceneResult = {
      run: opts.run,
      checkpoint: { round: ck.round, key: ck.key, sha256: ck.sha256, verified: ck.verified },
      input: { path: displayLocation(opts.input), files: scene.files.map(displayLocation), width: W, height: H, bands: scene.bandNames, ...(scene.geo?.crs.epsg !== undefined ? { epsg: scene.geo.crs.epsg } : {}) },
      output: {
        path: layout.path,
        bytes: layout.bytes,
        encoding: probabilities ? 'probabilities' : 'class',
        dtype: 'uint8',
        nodata: MAP_NODATA,
        ...(probabilities ? { scale: 254 } : {}),
        tileSize,
        overviews: layout.levels.slice(1),
        classNames: 'GDAL_METADATA',
      },
      model: { task: ctx.model.task, classes },
      modality: { name: modality.name, seen: tag.seen, reason: tag.reason },
      patch,
      stride,
      halo: g.halo,
      backend,
      normalisationStrategy: strategy,
      normalisation: norm.table,
      classes,
      pixels: Object.fromEntries(classes.map((c, i) => [c, counts[i] ?? 0])),
      nodataPixels,
      seconds: (performance.now() - t0) / 1000,
      notes,
    };
    return result;
  } finally {
    await writer?.abort();
    await scene.close();
  }
}
