import { selectBackend, type BackendChoice } from '@atomizer/model';
import { outageBudgetMs } from '@atomizer/protocol';
import { DEFAULT_REDIS_URL, checkRedis } from '@atomizer/protocol/redis';
import { MAP_NODATA, PROBABILITY_SCALE } from '@atomizer/worker';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { backendOption } from './backend-option.js';
import { ENDPOINT_ENV, addEndpointOptions, checkStore, queuesOf, storeFrom, type EndpointOptions } from './endpoints.js';
import { statsOption, type StatsChoice } from './normalisation.js';
import { positiveInt } from './option-values.js';
import { predictScene, type PredictSceneOptions, type PredictSceneResult } from './predict-scene.js';
import { bandsOption, checkpointOption, jsonOption, nameList, runOption, sensorOption } from './shared-options.js';
import { refuseUnusedOptions, type OptionRule } from './unused-options.js';
import { formatTable } from './table.js';

// `atomizer predict`: a run's checkpoint turned into a map of a scene, a
// Cloud-Optimized GeoTIFF on the scene's grid (predict-scene.ts), in this
// process or, with --redis, on the workers; a progress bar on a terminal, the
// summary as text or --json.

export interface PredictCliOptions extends Pick<EndpointOptions, 's3' | 's3Endpoint' | 'queuePrefix' | 'outageBudget'> {
  /** true: --redis without a URL (REDIS_URL, else the default). */
  redis?: string | true;
  windowsPerJob: number;
  run: string;
  checkpoint: string;
  input: string;
  out: string;
  probabilities?: boolean;
  sensor?: string;
  bands?: string;
  modality?: string;
  patch?: number;
  stats: StatsChoice;
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
    ...(r.workers !== undefined
      ? [
          `on workers: prediction ${r.workers.id}, ${r.workers.jobs} job(s) of ${r.workers.windowsPerJob} window(s) on queue ${r.workers.queue}, computed by ${r.workers.workers.join(', ')}`,
        ]
      : []),
    ...r.notes.map((n) => `note: ${n}`),
    '',
    formatTable(
      ['class id', 'class', 'pixels', 'share'],
      [
        ...r.classes.map((c, i) => [i, c, r.pixels[c] ?? 0, `${(((r.pixels[c] ?? 0) / total) * 100).toFixed(1)}%`]),
        [MAP_NODATA, '(nodata)', r.nodataPixels, `${((r.nodataPixels / total) * 100).toFixed(1)}%`],
      ],
    ),
    '',
    `wrote ${r.output.path} (${r.output.encoding === 'class' ? 'class ids' : `per-class probabilities x ${PROBABILITY_SCALE}`}, uint8, nodata ${MAP_NODATA}, ${r.output.tileSize}-pixel tiles, ${r.output.overviews.length} overview(s), ${r.output.bytes.toLocaleString('en-US')} bytes) in ${r.seconds.toFixed(1)} s`,
  ];
  return lines.join('\n');
}

/** A progress bar on a terminal; nothing otherwise (the summary follows). */
function progressBar(): { update(phase: string, done: number, total: number): void; stop(): void } {
  if (process.stderr.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    format: 'predict {phase} [{bar}] {value}/{total} windows | {eta_formatted} left',
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
  });
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
  // Predict jobs go to the run's eval queue: the queue prefix, not the train queues.
  addEndpointOptions(cmd, { queues: 'prefix', redis: false })
    .addOption(
      new Option(
        '--redis [url]',
        `predict on the workers serving the run's eval queue (one job per --windows-per-job windows) instead of in this process; without a URL: ${ENDPOINT_ENV.redis}, else ${DEFAULT_REDIS_URL}`,
      ),
    )
    .addOption(
      new Option('--windows-per-job <n>', 'with --redis: map tiles (windows) per worker job')
        .default(8)
        .argParser(positiveInt('--windows-per-job')),
    )
    .addOption(runOption('the run whose stored config and checkpoint to use'))
    .addOption(checkpointOption())
    .requiredOption(
      '--input <path-or-url>',
      "the scene: a GeoTIFF, a folder of one scene's band files, a Landsat Level-1 MTL (_MTL.txt: the band files it lists, in TOA reflectance), or a STAC Item (.json); GeoTIFFs and items may be http(s):// or s3://bucket/key URLs (read by byte ranges, cached: docs/datasets.md). With --redis the workers read it: a URL, or an absolute path on storage every worker mounts (a relative path only with a local-folder store)",
    )
    .requiredOption('--out <map.tif>', 'the map to write (a COG; written under a temporary name and renamed when complete)')
    .option(
      '--probabilities',
      `one band per class, the probability x ${PROBABILITY_SCALE} as uint8 (softmax; sigmoid per class for a multi-label run) instead of one class id per pixel`,
    )
    .addOption(sensorOption())
    .addOption(bandsOption())
    .option(
      '--modality <name|json>',
      "modality to predict with: one of the run's lists, a registry name or inline JSON (default: the run's first train modality that applies, else every band)",
    )
    .addOption(
      new Option('--patch <pixels>', "patch side in pixels of the finest band (default: the run's training footprint)").argParser(
        positiveInt('--patch'),
      ),
    )
    .addOption(statsOption())
    .addOption(
      new Option('--stride <pixels>', 'one patch per stride x stride block (1: a patch per pixel)')
        .default(1)
        .argParser(positiveInt('--stride')),
    )
    .addOption(
      new Option('--tile-size <pixels>', 'COG tile side and processing window, a multiple of 16')
        .default(256)
        .argParser(positiveInt('--tile-size')),
    )
    .addOption(new Option('--batch-size <n>', 'patches per forward pass').default(512).argParser(positiveInt('--batch-size')))
    .addOption(backendOption("TensorFlow.js backend (auto picks the fastest available); with --redis the workers' own"))
    .addOption(
      jsonOption(
        'print the summary as one JSON object (classes, pixels per class, seconds, output path; with --redis the prediction id, jobs and workers)',
      ),
    )
    .addHelpText(
      'after',
      `
Each pixel gets the class of the patch centred on it (patches at the scene's
edge are shifted inwards). The scene is read in windows of --tile-size pixels
plus half a patch of overlap on each side; only each window's centre is written,
so tile edges do not show and memory is bounded by a window. Bands are
normalised as atomizer eval normalises them (--stats as there). A modality of a coarser grid
(resolutionFactor < 1) reads the file's overview closest to, not coarser than,
that factor (a COG's overviews: a fraction of the bytes) and maps on its grid.
Landsat Level-1 band files are read in TOA reflectance (thermal bands:
brightness temperature, K) when their MTL is beside them (same product id) or
is the --input; a note names the MTL and the sun elevation.

With --redis the windows are predicted by workers (atomizer worker serving the
run's eval queue, --queue-prefix), --windows-per-job windows per job, each job
retried on another worker if its worker dies (the run's rounds.attempts); the
tiles are written in order as they arrive and the map is byte for byte the one
predicted in this process. The workers open --input themselves: give a URL or
a path on shared storage. Partial results (runs/<run>/predict/<id>/) are
deleted when the map is written.

The map keeps the input's CRS and geotransform; it is tiled, deflate-compressed,
with overviews (nearest) and its IFDs first (gdalinfo: LAYOUT=COG). Pixel values:
class ids 0..N-1 in the run's class order, ${MAP_NODATA} = nodata (the input pixel is
missing in every band). Class names are in GDAL_METADATA: CLASS_<id>=<name> and
CLASSES; with --probabilities each band is described by its class and carries the
scale 1/${PROBABILITY_SCALE}.

Examples:
  $ atomizer predict --run sen2-scene-20261204-101500 --input ../shared/data/rstoolbox-sen2/sen2.tif --out sen2-map.tif --s3 /tmp/atomizer-store
  $ atomizer predict --run sen2-scene-20261204-101500 --input scene.json --out probs.tif --probabilities --json
  $ atomizer predict --run sen2-sensors-20261204-101500 --input ../shared/data/landsat_satellite_pkg/LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt --out l8-map.tif
  $ atomizer predict --run sen2-scene-20261204-101500 --input https://example.org/cogs/scene.tif --out map.tif --sensor s2a
  $ atomizer predict --run sen2-scene-20261204-101500 --input s3://atomizer/scenes/sen2.tif --out map.tif --redis redis://10.0.0.5:6379`,
    )
    .action(async (opts: PredictCliOptions, command: Command) => {
      const { mapping, redisUrl, backend, json } = predictSettings(opts, command);
      const store = await storeFrom(opts);
      await checkStore(store);
      if (redisUrl !== undefined) await checkRedis(redisUrl);
      const bar = json ? { update: () => undefined, stop: () => undefined } : progressBar();
      try {
        const result = await predictScene({
          store,
          ...mapping,
          ...(mapping.workers === undefined ? { backend: async () => (await selectBackend(backend, () => undefined)).name } : {}),
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

const PREDICT_OPTION_RULES: ReadonlyArray<OptionRule<PredictCliOptions>> = [
  { option: 'windowsPerJob', applies: (o) => o.redis !== undefined, when: 'with --redis (predicting on the workers)' },
  { option: 'queuePrefix', applies: (o) => o.redis !== undefined, when: 'with --redis (predicting on the workers)' },
];

/**
 * What predict does, from its options: the map it makes, in this process (on which backend)
 * or on the workers (--redis: the Redis URL, queue and job size), printed how (the store from
 * the endpoint options). --windows-per-job and --queue-prefix without --redis are refused.
 */
export function predictSettings(
  opts: PredictCliOptions,
  command: Command,
): {
  mapping: Omit<PredictSceneOptions, 'store' | 'backend' | 'log' | 'onProgress'>;
  redisUrl?: string;
  backend: BackendChoice;
  json: boolean;
} {
  refuseUnusedOptions(command, opts, PREDICT_OPTION_RULES);
  const redisUrl = opts.redis === true ? (process.env[ENDPOINT_ENV.redis] ?? DEFAULT_REDIS_URL) : opts.redis;
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
      stats: opts.stats,
      stride: opts.stride,
      tileSize: opts.tileSize,
      batchSize: opts.batchSize,
      ...(redisUrl !== undefined
        ? {
            workers: {
              redisUrl,
              queue: queuesOf({ queuePrefix: opts.queuePrefix, trainQueues: 1 }).eval,
              windowsPerJob: opts.windowsPerJob,
              outageBudgetMs: opts.outageBudget !== undefined ? opts.outageBudget * 1000 : outageBudgetMs(),
            },
          }
        : {}),
    },
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    backend: opts.backend,
    json: opts.json === true,
  };
}
