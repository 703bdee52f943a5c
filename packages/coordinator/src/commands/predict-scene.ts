// `atomizer predict`: a run's checkpoint applied to every pixel of a scene,
// written as a Cloud-Optimized GeoTIFF on the scene's grid: in this process,
// or by workers (`--redis`: one job per range of tiles, predict-on-workers.ts).
//
// The scene is streamed in windows, one per output tile, read with a halo of
// half a patch (map-tiles.ts in @atomizer/worker, the code workers run too):
// memory is bounded by a window plus the COG writer's first overview (a
// quarter of the map). A modality of a coarser grid reads the file's overview
// (predict-grid.ts) and maps on that grid.
//
// Bands are normalised as `atomizer eval` normalises them (normalisation.ts):
// the run's statistics, its sensor family's, else the scene's own (one extra
// pass over the windows, only when some band needs it), decided here once and
// handed to workers as a table. Checkpoint loading, its checks and the
// modality resolution are eval's (run-checkpoint.ts).

import { stat } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { LocalStore, ResilientStore, runKeys, type ObjectStore } from '@atomizer/protocol';
import {
  CogWriter,
  applyModality,
  displayLocation,
  isRemote,
  level1Note,
  openSceneWindows,
  type Modality,
  type Sample,
  type SceneWindows,
} from '@atomizer/tokenizer';
import {
  MAP_NODATA,
  MAX_MAP_CLASSES,
  evalModality,
  mapGeometry,
  mapMetadata,
  predictTile,
  statsWithTable,
  tileRect,
  tileWindow,
  type MapGeometry,
  type RunContext,
  type TilePredictor,
} from '@atomizer/worker';
import { seenOf } from './eval-checkpoint.js';
import { checkStore } from './endpoints.js';
import { NATIVE, applicableModalities, whyNotApplicable } from './modality-applicability.js';
import { NormalisationBuilder, checkStatsChoice, type BandNormalisation, type StatsChoice } from './normalisation.js';
import { modalityOnGrid, readFactorOf } from './predict-grid.js';
import { predictOnWorkers, workerInput, type PredictWorkers, type WorkerPrediction } from './predict-on-workers.js';
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
  /** Which statistics normalise the bands, as eval chooses them (normalisation.ts); default 'auto'. */
  stats?: StatsChoice;
  /** One patch per stride x stride block. Default 1 (a patch per pixel). */
  stride?: number;
  /** Output tile side = processing window (before the halo). Default 256. */
  tileSize?: number;
  /** Patches per forward pass. Default 512. */
  batchSize?: number;
  backend?: string | (() => Promise<string>);
  /** Predict on workers through BullMQ instead of in this process. */
  workers?: Omit<PredictWorkers, 'attempts'> & { attempts?: number };
  log?: (msg: string) => void;
  /** Called after each window (and each statistics window): phase, done, total. */
  onProgress?: (phase: 'statistics' | 'predict', done: number, total: number) => void;
}

export interface PredictSceneResult {
  run: string;
  checkpoint: { round: number; key: string; sha256: string; verified: boolean };
  /** The grid read: the scene's full resolution, or an overview (see `resolution`). */
  input: { path: string; files: string[]; width: number; height: number; bands: string[]; epsg?: number };
  /** Set when the modality asked for a coarser grid: its factor, and the scale of the image read (1: full resolution, no overview). */
  resolution?: { factor: number; read: number };
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
  /** Where the patches were predicted: this process's backend, or 'workers'. */
  backend: string;
  /** Set when workers predicted: the prediction id, its jobs, the workers whose results made the map. */
  workers?: Omit<WorkerPrediction, 'pixels' | 'nodata'>;
  normalisationStrategy: 'train-split' | 'image';
  stats: StatsChoice;
  normalisation: BandNormalisation[];
  classes: string[];
  /** Pixels per predicted class (top-1 for probabilities too). */
  pixels: Record<string, number>;
  nodataPixels: number;
  seconds: number;
  notes: string[];
}

/** Input and output paths checked before anything is loaded. */
async function checkPaths(input: string, out: string): Promise<void> {
  // A URL (http(s)://, s3://) is checked when the scene is opened: a 404 is an Error naming it.
  if (!isRemote(input) && (await stat(input).catch(() => undefined)) === undefined) {
    throw new Error(`--input ${input} does not exist; give a GeoTIFF, a folder of one scene's band files or a STAC Item (.json)`);
  }
  if (!/^\.tiff?$/i.test(extname(out))) throw new Error(`--out ${out}: the map is a GeoTIFF; give a path ending in .tif`);
  if (!isRemote(input) && resolve(out) === resolve(input)) throw new Error(`--out ${out} is the input; give another path`);
  const dir = await stat(dirname(resolve(out))).catch(() => undefined);
  if (dir === undefined || !dir.isDirectory())
    throw new Error(`--out ${out}: folder ${dirname(resolve(out))} does not exist; create it first`);
}

/** The scene opened on one grid, with the patch size and tiles on it and its first tile's window. */
interface OpenedGrid {
  scene: SceneWindows;
  /** Reader resolution factor it was opened with (undefined: full resolution). */
  factor: number | undefined;
  patch: number;
  g: MapGeometry;
  first: Sample;
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
  const batchSize = Math.max(1, opts.batchSize ?? 512);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`--stride must be a positive integer, got ${stride}`);
  if (!Number.isInteger(tileSize) || tileSize < 16 || tileSize % 16 !== 0)
    throw new Error(`--tile-size must be a multiple of 16, got ${tileSize}`);

  // 1. Cheap checks first: paths (where workers will read the scene), the store, the run, the checkpoint.
  await checkPaths(opts.input, opts.out);
  const bare = opts.store instanceof ResilientStore ? opts.store.inner : opts.store;
  const jobInput = opts.workers !== undefined ? workerInput(opts.input, bare instanceof LocalStore) : undefined;
  await checkStore(opts.store);
  const ctx = await openRun(opts.store, opts.run);
  const statsChoice = opts.stats ?? 'auto';
  checkStatsChoice(ctx, statsChoice);
  const ck = await loadRunCheckpoint(opts.store, ctx, opts.checkpoint ?? 'latest');
  log(
    `run ${opts.run}: checkpoint round ${ck.round} (${ck.key}, sha256 ${ck.verified ? 'verified against latest.json' : 'not in latest.json, unverified'})`,
  );
  const classes = [...ctx.manifest.classes];
  const C = ctx.model.numClasses;
  if (!probabilities && C > MAX_MAP_CLASSES)
    throw new Error(`run ${opts.run} has ${C} classes, more than a uint8 class map holds (${MAX_MAP_CLASSES}); use --probabilities`);
  if (!probabilities && ctx.model.task === 'multi')
    notes.push('multi-label run: each pixel holds its most probable class; --probabilities gives every class');

  // 2. The modality named on the command line decides the grid before anything is read.
  let asked: Modality | undefined;
  if (opts.modality !== undefined) {
    try {
      asked = evalModality(ctx, opts.modality);
    } catch (err) {
      throw new Error(`--modality ${opts.modality}: ${(err as Error).message}`);
    }
  }
  const openGrid = async (factor: number | undefined): Promise<OpenedGrid> => {
    const scene = await openSceneWindows(opts.input, {
      ...(opts.sensor !== undefined ? { sensor: opts.sensor } : {}),
      ...(opts.bands !== undefined ? { bands: opts.bands } : {}),
      ...(factor !== undefined ? { resolutionFactor: factor } : {}),
    });
    try {
      const fineGsd = scene.geo?.gsdM;
      let patch = opts.patch;
      if (patch === undefined) {
        const foot = await trainingFootprintM(opts.store, ctx);
        if (foot === undefined || fineGsd === undefined)
          throw new Error(
            `${opts.input}: cannot size patches (${foot === undefined ? 'the run has no stored training sample' : 'the scene has no georeferencing'}); give --patch <pixels>`,
          );
        patch = Math.max(1, Math.round(foot / fineGsd));
      }
      if (!Number.isInteger(patch) || patch < 1) throw new Error(`--patch must be a positive integer, got ${patch}`);
      const g = mapGeometry(scene.width, scene.height, patch, tileSize);
      return { scene, factor, patch, g, first: await scene.readWindow(...tileWindow(g, 0)) };
    } catch (err) {
      await scene.close();
      throw err;
    }
  };

  // 3. The scene, by windows, on the grid the modality asks for.
  let grid = await openGrid(asked !== undefined ? readFactorOf(asked) : undefined);
  // A Landsat Level-1 scene read in physical units through its MTL: say which file, at which sun elevation.
  if (grid.scene.radiometry !== undefined) notes.push(level1Note(grid.scene.radiometry));
  let writer: CogWriter | undefined;
  try {
    let modality: Modality;
    if (asked !== undefined) {
      modality = asked;
      const refused = (why: string) =>
        new Error(`--modality ${opts.modality}: ${why}; the scene's bands are ${grid.scene.bandNames.join(', ')}`);
      const why = whyNotApplicable(modality, grid.first, ctx);
      if (why !== undefined) throw refused(why);
    } else {
      const applicable = applicableModalities(ctx.modalities.train, grid.first, ctx);
      notes.push(...applicable.notes);
      modality = applicable.modalities[0] ?? NATIVE;
      if (modality === NATIVE)
        notes.push(
          `none of the run's train modalities applies to ${grid.scene.bandNames.join(', ')}: predicted with every band as read ('native')`,
        );
      else
        notes.push(`modality ${modality.name}: the run's first train modality that applies to the scene (choose another with --modality)`);
    }
    // The modality's grid: an overview when it is coarser (opened again when the default modality asks for it).
    let onGrid = modalityOnGrid(modality, grid.scene, grid.factor);
    if (readFactorOf(modality) !== grid.factor || onGrid === undefined) {
      const factor = onGrid === undefined ? undefined : readFactorOf(modality);
      if (onGrid === undefined)
        notes.push('the bands have overviews at different levels: read at full resolution and averaged by the modality');
      await grid.scene.close();
      grid = await openGrid(factor);
      onGrid = modalityOnGrid(modality, grid.scene, factor)!;
    }
    const { scene, patch, g, first } = grid;
    const W = g.W;
    const H = g.H;
    const view = applyModality(first, onGrid.modality, { mode: 'eval' });
    const tag = seenOf(modality, view, ctx);
    if (g.kw < patch || g.kh < patch) notes.push(`the scene (${W}x${H}) is smaller than a patch (${patch}): patches are the whole scene`);
    if (grid.factor !== undefined) {
      notes.push(
        onGrid.scale < 1
          ? `modality ${modality.name} asks for resolution ${grid.factor}: read the overview at ${onGrid.scale.toFixed(3)} of full resolution (${W}x${H}), mapped on its grid`
          : `modality ${modality.name} asks for resolution ${grid.factor}: the scene has no overview that coarse, read at full resolution and averaged by the modality`,
      );
    }

    // 4. Normalisation: as eval does it, decided once; the scene's own statistics need a pass over every window.
    const strategy = ctx.config.dataset.normalisation;
    let table: BandNormalisation[] = [];
    if (strategy !== 'image') {
      const addTo = (b: NormalisationBuilder, s: Sample) => {
        b.add(s);
        if (onGrid.modality.simulate !== undefined) b.add(applyModality(s, onGrid.modality, { mode: 'eval' }));
      };
      let builder = new NormalisationBuilder(ctx, statsChoice);
      addTo(builder, first);
      if (builder.needsImageryStats) {
        builder = new NormalisationBuilder(ctx, statsChoice);
        for (let t = 0; t < g.tiles; t++) {
          addTo(builder, await scene.readWindow(...tileRect(g, t)));
          progress('statistics', t + 1, g.tiles);
        }
      }
      const built = builder.result();
      table = built.table;
      notes.push(...built.notes);
    }
    const normalisation = table.map((n) => [n.band, n.mean, n.std] as [string, number, number]);
    const evalCtx: RunContext = { ...ctx, stats: statsWithTable(ctx.stats, normalisation) };
    const backend =
      opts.workers !== undefined ? 'workers' : typeof opts.backend === 'function' ? await opts.backend() : (opts.backend ?? 'unknown');
    log(
      `${scene.id}: ${W}x${H} pixels, ${scene.bandNames.length} bands; ${patch}x${patch}-pixel patches every ${stride} pixel(s), modality ${modality.name} (${tag.seen}); ${g.tiles} window(s) of ${tileSize} + ${g.halo} overlap`,
    );

    // 5. Windows -> tiles of the map, in order, into the COG writer.
    const spp = probabilities ? C : 1;
    const cog = await CogWriter.create({
      path: opts.out,
      width: W,
      height: H,
      samplesPerPixel: spp,
      dtype: 'uint8',
      tileSize,
      tags: {
        ...scene.tags,
        gdalNodata: String(MAP_NODATA),
        gdalMetadata: mapMetadata(classes, probabilities, {
          ATOMIZER_RUN: opts.run,
          ATOMIZER_CHECKPOINT: String(ck.round),
          ATOMIZER_MODALITY: modality.name,
        }),
      },
    });
    writer = cog;
    const write = async (t: number, values: Uint8Array): Promise<void> => {
      await cog.writeTile(t % g.across, Math.floor(t / g.across), values);
      progress('predict', t + 1, g.tiles);
    };
    const counts = new Array<number>(C).fill(0);
    let nodataPixels = 0;
    let onWorkers: WorkerPrediction | undefined;
    if (opts.workers === undefined) {
      const predictor: TilePredictor = {
        g,
        bandGrids: scene.bandGrids,
        modality: onGrid.modality,
        ctx: evalCtx,
        weights: ck.weights,
        round: ck.round,
        stride,
        batchSize,
        probabilities,
      };
      for (let t = 0; t < g.tiles; t++) {
        const tile = predictTile(predictor, t, t === 0 ? first : await scene.readWindow(...tileWindow(g, t)));
        tile.pixels.forEach((n, c) => (counts[c]! += n));
        nodataPixels += tile.nodata;
        await write(t, tile.values);
      }
    } else {
      const { attempts, ...w } = opts.workers;
      onWorkers = await predictOnWorkers({
        store: opts.store,
        workers: { ...w, attempts: attempts ?? ctx.config.rounds.attempts },
        template: {
          kind: 'predict',
          run: opts.run,
          configKey: runKeys(opts.run).config,
          round: ck.round,
          checkpointKey: ck.key,
          checkpointSha256: ck.sha256,
          input: jobInput!,
          ...(opts.sensor !== undefined ? { sensor: opts.sensor } : {}),
          ...(opts.bands !== undefined ? { bands: opts.bands } : {}),
          ...(grid.factor !== undefined ? { resolution: grid.factor } : {}),
          width: W,
          height: H,
          modality: JSON.stringify(onGrid.modality),
          normalisation,
          patch,
          halo: g.halo,
          stride,
          tileSize,
          batchSize,
          probabilities,
        },
        tiles: g.tiles,
        classes: C,
        tileBytes: (t) => {
          const [, , cols, rows] = tileRect(g, t);
          return cols * rows * spp;
        },
        onTile: write,
        log,
      });
      onWorkers.pixels.forEach((n, c) => (counts[c]! += n));
      nodataPixels = onWorkers.nodata;
    }
    const layout = await cog.finish();
    writer = undefined;
    const result: PredictSceneResult = {
      run: opts.run,
      checkpoint: { round: ck.round, key: ck.key, sha256: ck.sha256, verified: ck.verified },
      input: {
        path: displayLocation(opts.input),
        files: scene.files.map(displayLocation),
        width: W,
        height: H,
        bands: scene.bandNames,
        ...(scene.geo?.crs.epsg !== undefined ? { epsg: scene.geo.crs.epsg } : {}),
      },
      ...(grid.factor !== undefined ? { resolution: { factor: grid.factor, read: onGrid.scale } } : {}),
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
      ...(onWorkers !== undefined
        ? {
            workers: {
              id: onWorkers.id,
              queue: onWorkers.queue,
              jobs: onWorkers.jobs,
              windowsPerJob: onWorkers.windowsPerJob,
              workers: onWorkers.workers,
            },
          }
        : {}),
      normalisationStrategy: strategy,
      stats: statsChoice,
      normalisation: table,
      classes,
      pixels: Object.fromEntries(classes.map((c, i) => [c, counts[i] ?? 0])),
      nodataPixels,
      seconds: (performance.now() - t0) / 1000,
      notes,
    };
    return result;
  } finally {
    await writer?.abort();
    await grid.scene.close();
  }
}
