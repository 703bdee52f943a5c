import { z } from 'zod';
import { validateKeyName } from './keys.js';
import { issueLines, unwrapSchema } from './schema-issues.js';

/** Number formats results and weights may travel in (docs/design.md "Transport"). */
export const TRANSPORT_FORMATS = ['f32', 'bf16', 'f16'] as const;
export type TransportFormat = (typeof TRANSPORT_FORMATS)[number];

// The run config (issue "Distributed training engine"): one schema, every value
// with a default and a description. `atomizer train` turns each leaf into a flag
// (train.sliceSamples -> --train-slice-samples), reads a YAML/JSON file over the
// defaults, and stores the resolved config at runs/<run>/config.json, which is
// what workers read. Endpoints and credentials are not part of it: they come
// from flags and the environment and are never stored.

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const TRAIN_MODES = ['sync', 'local'] as const;
export const OUTER_KINDS = ['mean', 'momentum', 'nesterov'] as const;
/** Where a round's results are summed (train.reduce). */
export const REDUCE_WHERE = ['coordinator', 'workers'] as const;

// Strict at every level: a key the schema does not know (a typo such as train.rouds) is an
// error naming it and the nearest valid key, never silently dropped for a default.
export const RunConfigSchema = z.strictObject({
  run: z
    .string()
    .default('')
    .describe("run id (a store key segment); empty: '<dataset>-<yyyymmdd-hhmmss>'")
    .refine((s) => s === '' || validateKeyName('run id', s) === s),
  seed: nonNegativeInt.default(42).describe('seed of everything random: data order, crops, subsampling, dropout, init'),
  dataset: z
    .strictObject({
      name: z.string().default('statlog').describe('dataset name in the store (datasets/<name>/)'),
      source: z
        .string()
        .default('')
        .describe("where to shard it from when its manifest is not in the store, '<kind>:<path>' (e.g. statlog:data/statlog.csv)"),
      shardSize: positiveInt.default(256).describe('samples per shard when sharding'),
      modalities: z.string().default('').describe('YAML/JSON file of train/val/test modality lists; empty: the manifest lists'),
      normalisation: z
        .enum(['train-split', 'image'])
        .default('train-split')
        .describe(
          "per-band z-score, in training and evaluation alike: 'train-split' (the train split's statistics; a sensor training never saw uses its scene's own) or 'image' (each sample's own)",
        ),
    })
    .prefault({}),
  model: z
    .strictObject({
      preset: z.string().default('tiny').describe('model preset: paper, small or tiny'),
      // A YAML mapping or a `--set model.overrides={...}` arrives as an object: kept as its JSON text.
      overrides: z
        .preprocess((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : v), z.string())
        .default('')
        .describe('JSON object of model config overrides, e.g. {"depth":2} (a string, or a mapping in YAML)'),
    })
    .prefault({}),
  train: z
    .strictObject({
      mode: z
        .enum(TRAIN_MODES)
        .default('sync')
        .describe('sync: one gradient per slice, Adam on the average; local: H local steps per slice, outer optimizer on the mean delta'),
      rounds: positiveInt.default(20).describe('rounds to train'),
      slices: positiveInt.default(4).describe('jobs (slices) per round'),
      sliceSamples: positiveInt.default(16).describe('samples per slice'),
      localSteps: positiveInt.default(4).describe('local steps per slice in local mode (ignored in sync)'),
      microBatch: nonNegativeInt.default(0).describe('samples per forward/backward pass inside a slice; 0: the whole slice'),
      lr: z.number().positive().default(1e-3).describe('peak learning rate (Adam in sync mode, the inner Adam in local mode)'),
      minLr: z.number().nonnegative().default(1e-5).describe('learning rate at the end of the cosine schedule'),
      warmupRounds: nonNegativeInt.default(2).describe('rounds of linear warm-up'),
      weightDecay: z.number().nonnegative().default(0.01).describe('decoupled weight decay (AdamW)'),
      clipNorm: z.number().nonnegative().default(1).describe('clip the averaged gradient to this global norm; 0: off'),
      maxAtoms: positiveInt.default(1024).describe('atoms kept per sample (seeded subsampling)'),
      augment: z.boolean().default(false).describe('spectral augmentation of train samples'),
      augmentJitterNm: z.number().nonnegative().default(20).describe('with augment: half-range of the band-centre shift, nm'),
      virtualSensor: z
        .number()
        .min(0)
        .max(1)
        .default(0)
        .describe(
          'probability that a train sample is seen by a random virtual sensor: bands over random spans of the real ones (docs/training-recipe.md); 0: off',
        ),
      radiometricGain: z
        .number()
        .min(1)
        .max(10)
        .default(1)
        .describe(
          "radiometric augmentation: each train sample's spectral bands multiplied by one gain drawn log-uniformly in [1/G, G] before the z-score (illumination, shadow; keeps band ratios); 1: off",
        ),
      radiometricBandGain: z
        .number()
        .min(1)
        .max(10)
        .default(1)
        .describe(
          'radiometric augmentation: each spectral band of a train sample multiplied by its own gain in [1/G, G] (calibration); 1: off',
        ),
      radiometricShift: z
        .number()
        .min(0)
        .max(1e6)
        .default(0)
        .describe(
          'radiometric augmentation: each spectral band of a train sample shifted by U(-S, S) in its physical units, e.g. reflectance (atmosphere, processing offsets); 0: off',
        ),
      dihedral: z.boolean().default(false).describe('random rotations by 90 degrees and mirrors of train samples'),
      atomKeepMin: z
        .number()
        .gt(0)
        .max(1)
        .default(1)
        .describe('atom dropout: each train sample keeps a uniform fraction in [atomKeepMin, 1] of its atoms; 1: off'),
      transport: z
        .enum(TRANSPORT_FORMATS)
        .default('f32')
        .describe(
          'number format of slice results and published weights in the store: bf16 or f16 halve the bytes (lossy, error in docs/benchmarks.md); f32 reproduces bit for bit',
        ),
      reduce: z
        .enum(REDUCE_WHERE)
        .default('coordinator')
        .describe(
          "where a round's results are summed: coordinator (its reducer threads read every result) or workers (reducer jobs, one per range of the vector, each reading its range of every result; the coordinator reads P values a round); the same weights bit for bit",
        ),
      reduceRanges: nonNegativeInt
        .default(0)
        .describe('with reduce workers: reducer jobs per round; 0: one per result, at most one per 4 MiB hash chunk'),
      innerState: z
        .enum(['keep', 'reset'])
        .default('keep')
        .describe("local mode: keep each slot's inner AdamW state across rounds (DiLoCo) or reset it every round"),
      outerKind: z.enum(OUTER_KINDS).default('mean').describe('outer optimizer in local mode: mean (FedAvg), momentum, nesterov (DiLoCo)'),
      outerLr: z.number().positive().default(1).describe('outer learning rate in local mode'),
      outerMomentum: z.number().min(0).lt(1).default(0.9).describe('outer momentum in local mode'),
    })
    .prefault({}),
  queues: z
    .strictObject({
      prefix: z.string().default('atomizer').describe('BullMQ queue name prefix'),
      train: positiveInt
        .default(1)
        .describe('train queues the slices are spread over (workers serving several queues may briefly hold one extra job)'),
    })
    .prefault({}),
  rounds: z
    .strictObject({
      quorum: z.number().gt(0).max(1).default(1).describe('fraction of slices that closes a round once the deadline passed'),
      deadlineSeconds: z.number().positive().default(600).describe('seconds after which a round closes on the quorum'),
      attempts: positiveInt.default(3).describe('tries per slice before it counts as failed'),
    })
    .prefault({}),
  checkpoint: z
    .strictObject({
      every: nonNegativeInt.default(5).describe('checkpoint every N rounds (and at the end); 0: only at the end'),
      keep: positiveInt.default(3).describe('checkpoints kept (older ones are deleted)'),
      keepResults: z
        .boolean()
        .default(false)
        .describe(
          "keep every round's slice results and published weights in the store (debugging); by default they are deleted once the round is committed",
        ),
    })
    .prefault({}),
  eval: z
    .strictObject({
      every: nonNegativeInt.default(0).describe('evaluate every E rounds (and at the end); 0: only at the end'),
      splits: z.string().default('test').describe('comma-separated splits to evaluate: val, test'),
      maxSamples: positiveInt.default(2000).describe('samples per split and modality at most'),
      sliceSamples: positiveInt.default(250).describe('samples per eval job'),
    })
    .prefault({}),
});

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;

/**
 * Parse a run config; the error lists every wrong field by its path, with `source` (a file)
 * named, and every unknown key with the nearest valid one.
 */
export function parseRunConfig(input: unknown, source = 'run config'): RunConfig {
  const r = RunConfigSchema.safeParse(input ?? {}, { reportInput: true });
  if (!r.success)
    throw new Error(
      `${source} is invalid:\n${issueLines(RunConfigSchema, r.error.issues)
        .map((l) => `  ${l}`)
        .join('\n')}`,
    );
  const t = r.data.train;
  if (r.data.dataset.normalisation === 'image' && (t.radiometricGain !== 1 || t.radiometricBandGain !== 1 || t.radiometricShift !== 0)) {
    // Each sample standardised by itself removes any gain and shift of a band: the step would change nothing.
    throw new Error(
      `${source} is invalid:\n  train.radiometricGain/radiometricBandGain/radiometricShift: radiometric augmentation has no effect with dataset.normalisation 'image' (each sample's own z-score removes a band's gain and shift); leave them at 1, 1, 0`,
    );
  }
  return r.data;
}

/** The eval splits of a config, checked. */
export function evalSplits(cfg: RunConfig): Array<'val' | 'test'> {
  const out: Array<'val' | 'test'> = [];
  for (const s of cfg.eval.splits
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')) {
    if (s !== 'val' && s !== 'test') throw new Error(`eval.splits: unknown split '${s}' (expected val and/or test)`);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

export interface RunConfigLeaf {
  /** Dotted path, e.g. 'train.sliceSamples'. */
  path: string;
  /** Flag, e.g. '--train-slice-samples'. */
  flag: string;
  kind: 'number' | 'string' | 'boolean' | 'enum';
  choices?: readonly string[];
  description: string;
  defaultValue: unknown;
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Leaves whose flag is not the kebab path: the queue layout is also given to `worker`,
 * `launch` and `dashboard`, which are not run-config commands, so every command spells
 * these two the same way.
 */
const FLAG_NAMES: Record<string, string> = {
  'queues.prefix': '--queue-prefix',
  'queues.train': '--train-queues',
  'checkpoint.keepResults': '--keep-results',
  'train.transport': '--transport',
  'train.reduce': '--reduce',
};

/** Every leaf of the run config with its flag: the single source of `atomizer train`'s config flags. */
export function runConfigLeaves(): RunConfigLeaf[] {
  const defaults = RunConfigSchema.parse({}) as Record<string, unknown>;
  const out: RunConfigLeaf[] = [];
  const walk = (shape: Record<string, z.ZodType>, prefix: string[]): void => {
    for (const [key, schema] of Object.entries(shape)) {
      const path = [...prefix, key];
      const inner = unwrapSchema(schema);
      if (inner instanceof z.ZodObject) {
        walk(inner.shape as Record<string, z.ZodType>, path);
        continue;
      }
      let def: unknown = defaults;
      for (const p of path) def = (def as Record<string, unknown>)[p];
      const kind =
        inner instanceof z.ZodNumber
          ? 'number'
          : inner instanceof z.ZodBoolean
            ? 'boolean'
            : inner instanceof z.ZodEnum
              ? 'enum'
              : 'string';
      out.push({
        path: path.join('.'),
        flag: FLAG_NAMES[path.join('.')] ?? `--${path.map(kebab).join('-')}`,
        kind,
        ...(inner instanceof z.ZodEnum ? { choices: inner.options as string[] } : {}),
        description: schema.description ?? inner.description ?? '',
        defaultValue: def,
      });
    }
  };
  walk(RunConfigSchema.shape as Record<string, z.ZodType>, []);
  return out;
}

/** Set a dotted path in a plain object (creating parents): the inverse of runConfigLeaves' paths. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let obj = target;
  for (const p of parts.slice(0, -1)) {
    const next = obj[p];
    if (typeof next !== 'object' || next === null) obj[p] = {};
    obj = obj[p] as Record<string, unknown>;
  }
  obj[parts[parts.length - 1] as string] = value;
}

/** The value at a dotted path of a plain object, or undefined when a part is missing: setPath's reader. */
export function getPath(source: unknown, path: string): unknown {
  let v: unknown = source;
  for (const p of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/**
 * runs/<run>/config.json: the resolved run config plus what workers need that
 * the coordinator resolved from files and the manifest (the model config with
 * the dataset's classes, the modality lists as definitions). Workers validate
 * `model` and `modalities` with the model and tokenizer schemas.
 */
export const StoredRunSchema = z.strictObject({
  format: z.literal('atomizer-run/1'),
  config: RunConfigSchema,
  manifestKey: z.string().min(1),
  model: z.record(z.string(), z.unknown()),
  modalities: z.strictObject({ train: z.array(z.unknown()), val: z.array(z.unknown()), test: z.array(z.unknown()) }),
  params: z.number().int().positive(),
  created: z.string(),
});
export type StoredRun = z.infer<typeof StoredRunSchema>;

/** Parse a stored run (runs/<run>/config.json read back); the error names `source` and every wrong field. */
export function parseStoredRun(input: unknown, source: string): StoredRun {
  const r = StoredRunSchema.safeParse(input);
  if (!r.success) throw new Error(`${source} is not a valid stored run: ${issueLines(StoredRunSchema, r.error.issues).join('; ')}`);
  return r.data;
}
