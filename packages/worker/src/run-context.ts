import { ModelConfigSchema, modelConfig, paramCount, type ModelConfig } from '@atomizer/model';
import { StoredRunSchema, sha256Hex, type ObjectStore, type RunConfig, type StoredRun } from '@atomizer/protocol';
import {
  ModalityRegistry,
  SeededRng,
  applyModality,
  atomize,
  makeBatch,
  trainAtoms,
  parseManifest,
  parseModality,
  subsampleAtoms,
  type AtomBatch,
  type AtomSet,
  type BandStats,
  type Manifest,
  type Modality,
  type Sample,
  type TrainRecipe,
} from '@atomizer/tokenizer';

// What a job needs besides its weights and shard, resolved once per run:
// the model config (preset + overrides + the dataset's classes and task), the
// modality lists as definitions, the manifest's band statistics. The same
// recipe turns shard samples into a batch on a worker and in the coordinator's
// single-process reference loop, so both see the same atoms for the same seed.

export interface RunContext {
  stored: StoredRun;
  config: RunConfig;
  model: ModelConfig;
  /** sha256 of the canonical model config JSON: weights carry it, so weights of another config are refused. */
  modelSha256: string;
  manifest: Manifest;
  stats: Map<string, BandStats>;
  modalities: { train: Modality[]; val: Modality[]; test: Modality[] };
}

/** The model config of a run: preset + JSON overrides + the dataset's class count and task. */
export function resolveModelConfig(config: RunConfig, manifest: Pick<Manifest, 'classes' | 'task' | 'encoding'>): ModelConfig {
  let overrides: Record<string, unknown> = {};
  if (config.model.overrides.trim() !== '') {
    try {
      overrides = JSON.parse(config.model.overrides) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`model.overrides is not a JSON object (${(err as Error).message}): ${config.model.overrides}`);
    }
    if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
      throw new Error(`model.overrides must be a JSON object, got ${config.model.overrides}`);
    }
  }
  return modelConfig(config.model.preset, {
    ...overrides,
    numClasses: manifest.classes.length,
    task: manifest.task,
    ...(manifest.encoding !== undefined && overrides.encoding === undefined ? { encoding: manifest.encoding } : {}),
  });
}

/** sha256 of a model config (key-sorted JSON). */
export function modelConfigSha256(cfg: ModelConfig): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return sha256Hex(new TextEncoder().encode(JSON.stringify(sort(cfg))));
}

/** Validate a stored run and its manifest into a RunContext; errors name the key and field. */
export function runContext(storedJson: unknown, manifest: Manifest, source: string): RunContext {
  const parsed = StoredRunSchema.safeParse(storedJson);
  if (!parsed.success) {
    throw new Error(`${source}: not a valid stored run: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const stored = parsed.data;
  const m = ModelConfigSchema.safeParse(stored.model);
  if (!m.success)
    throw new Error(`${source}: model config invalid: ${m.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const model = m.data;
  if (paramCount(model) !== stored.params) {
    throw new Error(`${source}: the model config has ${paramCount(model)} parameters but the run says ${stored.params}`);
  }
  const list = (name: 'train' | 'val' | 'test'): Modality[] =>
    stored.modalities[name].map((x, i) => parseModality(x, `${source} modalities.${name}[${i}]`));
  return {
    stored,
    config: stored.config,
    model,
    modelSha256: modelConfigSha256(model),
    manifest,
    stats: new Map(manifest.stats.bands.map((b) => [b.key, b])),
    modalities: { train: list('train'), val: list('val'), test: list('test') },
  };
}

/** Fetch and validate runs/<run>/config.json and the manifest it names. */
export async function loadRunContext(store: ObjectStore, configKey: string): Promise<RunContext> {
  const storedJson = JSON.parse(new TextDecoder().decode(await store.get(configKey))) as StoredRun;
  const manifestKey = (storedJson as { manifestKey?: unknown }).manifestKey;
  if (typeof manifestKey !== 'string') throw new Error(`${configKey}: no manifestKey`);
  const manifest = parseManifest(new TextDecoder().decode(await store.get(manifestKey)), manifestKey);
  return runContext(storedJson, manifest, configKey);
}

export interface BuiltBatch {
  batch: AtomBatch;
  labels: number[][];
  /** Real atoms in the batch. */
  atoms: number;
  /** Indices (into the given samples) of samples dropped because the view left them no atom. */
  dropped: number[];
}

function toBatch(sets: Array<AtomSet | undefined>, samples: readonly Sample[]): BuiltBatch | undefined {
  const kept: AtomSet[] = [];
  const labels: number[][] = [];
  const dropped: number[] = [];
  sets.forEach((s, i) => {
    if (s === undefined || s.length === 0) dropped.push(i);
    else {
      kept.push(s);
      labels.push([...samples[i]!.labels]);
    }
  });
  if (kept.length === 0) return undefined;
  return { batch: makeBatch(kept), labels, atoms: kept.reduce((n, s) => n + s.length, 0), dropped };
}

/**
 * A training batch from shard samples, deterministic in `seed`: sample i draws
 * its train modality, crop, spectral jitter and atom subset from
 * SeededRng.derive(seed, i). Undefined when no sample keeps an atom.
 */
export function buildTrainBatch(samples: readonly Sample[], ctx: RunContext, seed: number): BuiltBatch | undefined {
  const { train } = ctx.modalities;
  const recipe = trainRecipe(ctx);
  const sets = samples.map((sample, i) => {
    const rng = SeededRng.derive(seed, i);
    const modality = train.length > 0 ? train[rng.int(train.length)] : undefined;
    return trainAtoms(sample, modality, recipe, rng);
  });
  return toBatch(sets, samples);
}

/** How atomize normalises this run's samples (run config dataset.normalisation), in training and evaluation alike. */
export function atomNormalisation(ctx: Pick<RunContext, 'config'>): 'zscore' | 'image' {
  return ctx.config.dataset.normalisation === 'image' ? 'image' : 'zscore';
}

/** The run config's training recipe (augmentations, dropout, atom budget) with the run's statistics. */
export function trainRecipe(ctx: Pick<RunContext, 'config' | 'stats'>): TrainRecipe {
  const t = ctx.config.train;
  return {
    stats: ctx.stats,
    normalize: atomNormalisation(ctx),
    virtualSensor: t.virtualSensor,
    radiometry: { gain: t.radiometricGain, bandGain: t.radiometricBandGain, shift: t.radiometricShift },
    spectralJitterNm: t.augment ? t.augmentJitterNm : 0,
    dihedral: t.dihedral,
    atomKeepMin: t.atomKeepMin,
    maxAtoms: t.maxAtoms,
  };
}

/**
 * An evaluation batch: every sample presented as `modality` (centred crops),
 * subsampled to maxAtoms with SeededRng.derive(seed, i).
 */
export function buildEvalBatch(samples: readonly Sample[], modality: Modality, ctx: RunContext, seed: number): BuiltBatch | undefined {
  const sets = samples.map((sample, i) => {
    const view = applyModality(sample, modality, { mode: 'eval' });
    const atoms = atomize(view, { stats: ctx.stats, normalize: atomNormalisation(ctx) }).atoms;
    if (atoms.length === 0) return undefined;
    return subsampleAtoms(atoms, ctx.config.train.maxAtoms, SeededRng.derive(seed, i));
  });
  return toBatch(sets, samples);
}

/** Resolve an eval job's modality field: a name of the run's lists, or the JSON of an inline definition. */
export function evalModality(ctx: RunContext, name: string): Modality {
  for (const m of [...ctx.modalities.val, ...ctx.modalities.test, ...ctx.modalities.train]) if (m.name === name) return m;
  if (name.trim().startsWith('{')) return parseModality(JSON.parse(name), 'eval job modality');
  return ModalityRegistry.default().resolve(name, 'eval job modality');
}
