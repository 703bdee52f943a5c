import { selectBackend, type BackendChoice } from '@atomizer/model';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { backendOption } from './backend-option.js';
import { addEndpointOptions, checkStore, storeFrom, type EndpointOptions } from './endpoints.js';
import { MAP_NODATA, PROBABILITY_SCALE } from './map-encoding.js';
import { positiveInt } from './option-values.js';
import { predictScene, type PredictSceneOptions, type PredictSceneResult } from './predict-scene.js';
import { bandsOption, checkpointOption, jsonOption, nameList, runOption, sensorOption } from './shared-options.js';
import { formatTable } from './table.js';

// `atomizer predict`: a run's checkpoint turned into a map of a scene, a
// Cloud-Optimized GeoTIFF on the scene's grid (predict-scene.ts), in this
// process; a progress bar on a terminal, the summary as text or --json.

export interface PredictCliOptions extends Pick<EndpointOptions, 's3' | 's3Endpoint'> {
  run: string;
  checkpoint: string;
  input: string;
  out: string;
  probabilities?: boolean;
  sensor?: string;
  bands?: string;
  modality?: string;
  patch?: number;
  stride: number;
  tileSize: number;
  batchSize: number;
  backend: BackendChoice;
  json?: boolean;
}

/** The summary as text: what was read, how, and the pixels of each class. */
export function formatPredictResult(r: PredictSceneResult): string {
  const total = r.input.width * r.input.height;
  const lines = [
    `run ${r.run}, checkpoint round ${r.checkpoint.round}; ${r.input.path}: ${r.input.width}x${r.input.height} pixels, ${r.input.bands.length} bands${r.input.epsg !== undefined ? `, EPSG:${r.input.epsg}` : ''}`,
    `modality ${r.modality.name} (${r.modality.seen}: ${r.modality.reason}); ${r.patch}x${r.patch}-pixel patches every ${r.stride} pixel(s); windows of ${r.output.tileSize} pixels + ${r.halo} overlap`,
    ...r.notes.map((n) => `note: ${n}`),
    '',
    formatTable(
      ['class id', 'class', 'pixels', 'share'],
      [...r.classes.map((c, i) => [i, c, r.pixels[c] ?? 0, `${(((r.pixels[c] ?? 0) / total) * 100).toFixed(1)}%`]), [MAP_NODATA, '(nodata)', r.nodataPixels, `${((r.nodataPixels / total) * 100).toFixed(1)}%`]],
    ),
    '',
    `wrote ${r.output.path} (${r.output.encoding === 'class' ? 'class ids' : `per-class probabilities x ${PROBABILITY_SCALE}`}, uint8, nodata ${MAP_NODATA}, ${r.output.tileSize}-pixel tiles, ${r.output.overviews.length} overview(s), ${r.output.bytes.toLocaleString('en-US')} bytes) in ${r.seconds.toFixed(1)} s`,
  ];
  return lines.join('\n');
}

/** A progress bar on a terminal; nothing otherwise (the summary follows). */
function progressBar(): { update(phase: string, done: number, total: number): void; stop(): void } {
  if (process.stderr.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: 'predict {phase} [{bar}] {value}/{total} windows | {eta_formatted} left', stream: process.stderr, hideCursor: true, clearOnComplete: false });
  let phase = '';
  return {
    update(p, done, total) {
      if (p !== phase) {
        if (phase !== '') bar.stop();
        phase = p;
        bar.start(total, 0, { phase: p });
      }
      bar.update(done, { phase: p });
    },
    stop() {
      if (phase !== '') bar.stop();
      phase = '';
    },
  };
}

export function predictCommand(): Command {
  const cmd = new Command('predict');
  addEndpointOptions(cmd, { queues: false, redis: false })
    .addOption(runOption('the run whose stored config and checkpoint to use'))
    .addOption(checkpointOption())
    .requiredOption('--input <path-or-url>', "the scene: a GeoTIFF, a folder of one scene's band files, or a STAC Item (.json); GeoTIFFs and items may be http(s):// or s3://bucket/key URLs (read by byte ranges, cached: docs/datasets.md)")
    .requiredOption('--out <map.tif>', 'the map to write (a COG; written under a temporary name and renamed when complete)')
    .option('--probabilities', `one band per class, the probability x ${PROBABILITY_SCALE} as uint8 (softmax; sigmoid per class for a multi-label run) instead of one class id per pixel`)
    .addOption(sensorOption())
    .addOption(bandsOption())
    .option('--modality <name|json>', "modality to predict with: one of the run's lists, a registry name or inline JSON (default: the run's first train modality that applies, else every band)")
    .addOption(new Option('--patch <pixels>', "patch side in pixels of the finest band (default: the run's training footprint)").argParser(positiveInt('--patch')))
    .addOption(new Option('--stride <pixels>', 'one patch per stride x stride block (1: a patch per pixel)').default(1).argParser(positiveInt('--stride')))
    .addOption(new Option('--tile-size <pixels>', 'COG tile side and processing window, a multiple of 16').default(256).argParser(positiveInt('--tile-size')))
    .addOption(new Option('--batch-size <n>', 'patches per forward pass').default(512).argParser(positiveInt('--batch-size')))
    .addOption(backendOption())
    .addOption(jsonOption('print the summary as one JSON object (classes, pixels per class, seconds, output path)'))
    .addHelpText(
      'after',
      `
Each pixel gets the class of the patch centred on it (patches at the scene's
edge are shifted inwards). The scene is read in windows of --tile-size pixels
plus half a patch of overlap on each side; only each window's centre is written,
so tile edges do not show and memory is bounded by a window. Bands are
normalised as atomizer eval normalises them.

The map keeps the input's CRS and geotransform; it is tiled, deflate-compressed,
with overviews (nearest) and its IFDs first (gdalinfo: LAYOUT=COG). Pixel values:
class ids 0..N-1 in the run's class order, ${MAP_NODATA} = nodata (the input pixel is
missing in every band). Class names are in GDAL_METADATA: CLASS_<id>=<name> and
CLASSES; with --probabilities each band is described by its class and carries the
scale 1/${PROBABILITY_SCALE}.

Examples:
  $ atomizer predict --run sen2-scene-20261204-101500 --input ../shared/data/rstoolbox-sen2/sen2.tif --out sen2-map.tif --s3 /tmp/atomizer-store
  $ atomizer predict --run sen2-scene-20261204-101500 --input scene.json --out probs.tif --probabilities --json
  $ atomizer predict --run sen2-scene-20261204-101500 --input https://example.org/cogs/scene.tif --out map.tif --sensor s2a`,
    )
    .action(async (opts: PredictCliOptions) => {
      const { mapping, backend, json } = predictSettings(opts);
      const store = storeFrom(opts);
      await checkStore(store);
      const bar = json ? { update: () => undefined, stop: () => undefined } : progressBar();
      try {
        const result = await predictScene({
          store,
          ...mapping,
          backend: async () => (await selectBackend(backend, () => undefined)).name,
          onProgress: (phase, done, total) => bar.update(phase, done, total),
          ...(json ? {} : { log: (m: string) => process.stderr.write(`${m}\n`) }),
        });
        bar.stop();
        process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${formatPredictResult(result)}\n`);
      } finally {
        bar.stop();
      }
    });
  return cmd;
}

/** What predict does, from its options: the map it makes, on which backend, printed how (the store from the endpoint options). */
export function predictSettings(opts: PredictCliOptions): { mapping: Omit<PredictSceneOptions, 'store' | 'backend' | 'log' | 'onProgress'>; backend: BackendChoice; json: boolean } {
  return {
    mapping: {
      run: opts.run,
      checkpoint: opts.checkpoint,
      input: opts.input,
      out: opts.out,
      probabilities: opts.probabilities === true,
      ...(opts.sensor !== undefined ? { sensor: opts.sensor } : {}),
      ...(opts.bands !== undefined ? { bands: nameList(opts.bands) } : {}),
      ...(opts.modality !== undefined ? { modality: opts.modality } : {}),
      ...(opts.patch !== undefined ? { patch: opts.patch } : {}),
      stride: opts.stride,
      tileSize: opts.tileSize,
      batchSize: opts.batchSize,
    },
    backend: opts.backend,
    json: opts.json === true,
  };
}
