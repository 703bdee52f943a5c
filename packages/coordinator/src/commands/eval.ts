import { selectBackend, type BackendChoice } from '@atomizer/model';
import { Command, Option } from 'commander';
import { resolveBundledData } from '../presets.js';
import { backendOption } from './backend-option.js';
import { addEndpointOptions, checkStore, storeFrom, type EndpointOptions } from './endpoints.js';
import { evalCheckpoint, type EvalCheckpointOptions, type EvalCheckpointResult, type SplitChoice } from './eval-checkpoint.js';
import { statsOption, type StatsChoice } from './normalisation.js';
import { nonNegativeInt } from './option-values.js';
import { checkpointOption, datasetOption, jsonOption, runOption } from './shared-options.js';
import { formatTable } from './table.js';

// `atomizer eval`: a stored checkpoint scored on any dataset the tokenizer
// reads (eval-checkpoint.ts), printed as a table or one JSON object.

export interface EvalCliOptions extends Pick<EndpointOptions, 's3' | 's3Endpoint'> {
  run: string;
  checkpoint: string;
  dataset: string;
  modality?: string[];
  split?: SplitChoice;
  maxSamples?: number;
  tile?: number;
  stats: StatsChoice;
  backend: BackendChoice;
  json?: boolean;
}

const pct = (x: number | undefined): number => (x === undefined ? Number.NaN : x);

/** The result as text: what was scored, how bands were normalised, one row per modality. */
export function formatEvalResult(r: EvalCheckpointResult): string {
  const lines: string[] = [];
  lines.push(
    `run ${r.run}, checkpoint round ${r.checkpoint.round} (${r.checkpoint.key}; sha256 ${r.checkpoint.verified ? 'verified against latest.json' : 'unverified: not the latest checkpoint'})`,
  );
  const tiles =
    r.dataset.tiles !== undefined
      ? `, ${r.dataset.tiles.images} image(s) cut into ${r.dataset.tiles.pixels}x${r.dataset.tiles.pixels}-pixel tiles`
      : '';
  lines.push(
    `dataset ${r.dataset.spec}: ${r.dataset.samples} samples of split ${r.dataset.split}${tiles}; model ${r.model.task}-label, ${r.model.classes.length} classes, ${r.model.params.toLocaleString('en-US')} parameters; backend ${r.backend}`,
  );
  if (r.normalisationStrategy === 'image')
    lines.push("normalisation: each band z-scored with each sample's own statistics (the run's dataset.normalisation 'image')");
  else lines.push(`normalisation per band (--stats ${r.stats}):`);
  const srcText = { run: "run's manifest", family: 'sensor family (from the manifest)', dataset: "this dataset's own statistics" } as const;
  if (r.normalisation.length > 0)
    lines.push(
      formatTable(
        ['band', 'statistics from', 'key', 'mean', 'std'],
        r.normalisation.map((n) => [n.band, srcText[n.source], n.stats, n.mean, n.std]),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push('');
  if (r.mode === 'metrics') {
    const multi = r.model.task === 'multi';
    lines.push(
      formatTable(
        ['modality', 'seen', 'samples', 'skipped', multi ? 'mAP' : 'accuracy', 'macro F1'],
        r.modalities.map((m) => [m.modality, m.seen, m.samples, m.skipped, pct(multi ? m.mAP : m.accuracy), pct(m.macroF1)]),
      ),
    );
    const classes = r.scoredClasses ?? r.model.classes;
    for (const m of r.modalities) {
      if (m.confusion === undefined) continue;
      lines.push('', `confusion matrix, ${m.modality} (rows: true class, columns: predicted):`);
      lines.push(
        formatTable(
          ['true \\ predicted', ...classes],
          m.confusion.map((row, i) => [classes[i] ?? `#${i}`, ...row]),
        ),
      );
    }
  } else {
    lines.push('predicted classes (counts):');
    lines.push(
      formatTable(
        ['modality', 'seen', 'samples', 'skipped', ...r.model.classes],
        r.modalities.map((m) => [m.modality, m.seen, m.samples, m.skipped, ...r.model.classes.map((c) => m.histogram?.[c] ?? 0)]),
      ),
    );
  }
  const why = [...new Set(r.modalities.map((m) => `${m.seen}: ${m.seenReason}`))];
  lines.push('', ...why.map((w) => `(${w})`));
  return lines.join('\n');
}

export function evalCommand(): Command {
  const cmd = new Command('eval');
  addEndpointOptions(cmd, { queues: false, redis: false })
    .addOption(runOption('the run whose stored config and checkpoint to use'))
    .addOption(checkpointOption())
    .addOption(datasetOption('dataset to score, as atomizer shard takes it'))
    .option(
      '--modality <name|json...>',
      "modalities: registry names, names of the run's lists, or inline JSON (default: the run's train + test modalities that apply to the dataset's sensor, else 'native')",
    )
    .addOption(
      new Option(
        '--split <split>',
        'split of the dataset to score (default test; unlabelled imagery has one split and is scored whole)',
      ).choices(['train', 'val', 'test', 'all']),
    )
    .addOption(new Option('--max-samples <n>', 'score at most the first N samples (0: all)').argParser(nonNegativeInt('--max-samples')))
    .addOption(
      new Option(
        '--tile <pixels>',
        "whole images (geotiff, stac): tile side in pixels of the finest band (0: the whole image is one sample; default: the footprint of the run's training samples)",
      ).argParser(nonNegativeInt('--tile')),
    )
    .addOption(statsOption())
    .addOption(backendOption())
    .addOption(jsonOption('print the result as one JSON object'))
    .addHelpText(
      'after',
      `
Bands the run has statistics for are normalised with them; a band of another
sensor of the same family borrows the family's, any other band this dataset's own
(the output says which). A band whose values are clearly in other units than the
run's statistics (DN against reflectance) uses this dataset's own, with a note;
--stats run forces the run's, --stats dataset uses this dataset's own for every
band. Give files without scale metadata their units in a scene description
(scale/offset, docs/datasets.md). Landsat Level-1 band files are read in TOA
reflectance (thermal bands: brightness temperature, K) when their MTL is beside
them (same product id), or given as ?mtl=<file> or as the path itself
(geotiff:<..._MTL.txt>); a note names the MTL and the sun elevation; ?mtl=off
keeps the DN. A modality that simulates a sensor from the
run's imagery does not apply to imagery of another sensor. A sensor never in training is tagged unseen. Labels are
matched to the run's classes by name: metrics (and a confusion matrix) over the
classes both share, predictions restricted to them; samples of other classes are
left out. Unlabelled imagery gives a predicted-class histogram.

Examples:
  $ atomizer eval --run statlog-20261127-101500 --dataset statlog:../shared/data/statlog/statlog_landsat_satellite.csv --s3 /tmp/atomizer-store
  $ atomizer eval --run statlog-20261127-101500 --checkpoint 500 --modality mss-all --json --dataset statlog:../shared/data/statlog/statlog_landsat_satellite.csv
  $ atomizer eval --run statlog-20261127-101500 --dataset 'geotiff:../shared/data/landsat7_stars/L7_ETMs.tif?sensor=landsat-7&bands=B1,B2,B3,B4,B5,B7'
  $ atomizer eval --run sen2-sensors-20261204-101500 --dataset geotiff:../shared/data/landsat_satellite_pkg/LC08_L1TP_195025_20130707_20170503_01_T1_MTL.txt`,
    )
    .action(async (opts: EvalCliOptions, command: Command) => {
      const { scoring, backend, json } = evalSettings(opts, command);
      const store = await storeFrom(opts);
      await checkStore(store);
      const result = await evalCheckpoint({
        store,
        ...scoring,
        backend: async () => (await selectBackend(backend, () => undefined)).name,
        ...(json ? {} : { log: (m: string) => process.stderr.write(`${m}\n`) }),
      });
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${formatEvalResult(result)}\n`);
    });
  return cmd;
}

/** What eval does, from its options: what it scores, on which backend, printed how (the store from the endpoint options). */
export function evalSettings(
  opts: EvalCliOptions,
  command: Command,
): { scoring: Omit<EvalCheckpointOptions, 'store' | 'backend' | 'log'>; backend: BackendChoice; json: boolean } {
  return {
    scoring: {
      run: opts.run,
      checkpoint: opts.checkpoint,
      dataset: resolveBundledData(opts.dataset),
      ...(opts.modality !== undefined ? { modalities: opts.modality } : {}),
      ...(opts.split !== undefined ? { split: opts.split, splitExplicit: command.getOptionValueSource('split') === 'cli' } : {}),
      ...(opts.maxSamples !== undefined ? { maxSamples: opts.maxSamples } : {}),
      ...(opts.tile !== undefined ? { tile: opts.tile } : {}),
      stats: opts.stats,
    },
    backend: opts.backend,
    json: opts.json === true,
  };
}
