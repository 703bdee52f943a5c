import { existsSync } from 'node:fs';
import { paramCount, planStepMemory } from '@atomizer/model';
import { datasetKeys, getIfExists, parseStoredRun, runKeys, type ObjectStore, type RunConfig, type StoredRun } from '@atomizer/protocol';
import {
  buildDataset,
  loadModalityListsFile,
  datasetSourceKey,
  parseReaderSpec,
  parseDatasetSpec,
  parseManifest,
  resolveModalityLists,
  SensorCatalog,
  type BuildProgress,
  type Manifest,
  type ModalityLists,
} from '@atomizer/tokenizer';
import { resolveModelConfig, runContext, type RunContext } from '@atomizer/worker';
import { RunStore } from '../run-store.js';

// Everything a run needs before its first round: the dataset in the store
// (sharded now if its manifest is missing), the modality lists, the model
// config, and runs/<run>/config.json, which workers read. `--resume` reads the
// stored run back instead (what a resume may change in it: resume-changes.ts).

export interface PreparedRun {
  run: string;
  stored: StoredRun;
  ctx: RunContext;
  manifestKey: string;
  configKey: string;
  lists: ModalityLists;
}

export interface PrepareOptions {
  resume?: boolean;
  log?: (msg: string) => void;
  onShardProgress?: (p: BuildProgress) => void;
  now?: Date;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** The config with its run id filled in ('<dataset>-<yyyymmdd-hhmmss>' when empty). */
export function withRunId(config: RunConfig, now = new Date()): RunConfig {
  return config.run !== '' ? config : { ...config, run: `${config.dataset.name}-${stamp(now)}` };
}

async function readJson(store: ObjectStore, key: string): Promise<unknown | undefined> {
  const bytes = await getIfExists(store, key);
  return bytes === undefined ? undefined : (JSON.parse(new TextDecoder().decode(bytes)) as unknown);
}

/**
 * A dataset already in the store is reused only for the source it was built from: the same
 * files read with the same options. Another source under the same dataset name is refused,
 * naming both (manifests written before `sourceSpec` existed are not checked).
 */
function checkSameSource(manifest: Manifest, manifestKey: string, config: RunConfig): void {
  if (config.dataset.source === '' || manifest.sourceSpec === undefined) return;
  // Parsed without the existence check: a coordinator may reuse shards whose source files are
  // not on its machine; then only the kind and the reader options can be compared.
  const spec = parseReaderSpec(config.dataset.source);
  if (datasetSourceKey(spec) === manifest.sourceSpec) return;
  if (!existsSync(spec.path)) {
    const { path: _stored, ...storedOptions } = JSON.parse(manifest.sourceSpec) as Record<string, unknown>;
    const { path: _given, ...givenOptions } = JSON.parse(datasetSourceKey(spec)) as Record<string, unknown>;
    if (JSON.stringify(storedOptions) === JSON.stringify(givenOptions)) return;
  }
  throw new Error(
    `dataset '${config.dataset.name}' in the store (${manifestKey}) was sharded from another source (${manifest.sourceSpec}) ` +
      `than this run's dataset.source ${config.dataset.source}: give the run another dataset.name, or delete datasets/${config.dataset.name}/ to shard it again`,
  );
}

/** The dataset's manifest, sharding it from `dataset.source` first when the store lacks it (or reusing it when its source is this one). */
export async function ensureDataset(
  store: ObjectStore,
  config: RunConfig,
  opts: PrepareOptions = {},
): Promise<{ manifest: Manifest; manifestKey: string }> {
  const log = opts.log ?? (() => undefined);
  const manifestKey = datasetKeys(config.dataset.name).manifest;
  const existing = await readJson(store, manifestKey);
  if (existing !== undefined) {
    const manifest = parseManifest(JSON.stringify(existing), manifestKey);
    checkSameSource(manifest, manifestKey, config);
    return { manifest, manifestKey };
  }
  if (config.dataset.source === '') {
    throw new Error(
      `dataset '${config.dataset.name}' is not in the store (${manifestKey} missing) and dataset.source is empty: ` +
        'pass --dataset-source <kind>:<path> (e.g. statlog:../shared/data/statlog/statlog_landsat_satellite.csv) or shard it first with atomizer shard',
    );
  }
  const spec = parseDatasetSpec(config.dataset.source);
  log(`sharding ${config.dataset.source} into datasets/${config.dataset.name}/ (${config.dataset.shardSize} samples per shard)`);
  const modalities = config.dataset.modalities !== '' ? await loadModalityListsFile(config.dataset.modalities) : undefined;
  const built = await buildDataset({
    dataset: spec,
    out: store,
    name: config.dataset.name,
    shardSize: config.dataset.shardSize,
    // Readers emit file order (Statlog rows and scene patches are spatially sorted); a slice is
    // a run of consecutive samples of a shard, so shuffle on the way in.
    shuffle: { seed: config.seed },
    ...(modalities !== undefined
      ? {
          modalities: {
            train: modalities.train.map((m) => ({ ...m })),
            val: modalities.val.map((m) => ({ ...m })),
            test: modalities.test.map((m) => ({ ...m })),
          },
        }
      : {}),
    ...(opts.onShardProgress !== undefined ? { onProgress: opts.onShardProgress } : {}),
  });
  return { manifest: built.manifest, manifestKey: built.manifestKey };
}

/**
 * Every band a modality names must exist for its sensor in the catalogue: checked
 * before sharding or training starts, with the modality, the band and the sensor's
 * bands in the message.
 */
export function checkModalityBands(lists: ModalityLists, source: string): void {
  const catalog = SensorCatalog.default();
  for (const split of ['train', 'val', 'test'] as const) {
    for (const m of lists[split]) {
      if (m.sensor === undefined || m.bands === undefined) continue;
      for (const band of m.bands) {
        try {
          catalog.resolveBand(m.sensor, band);
        } catch (err) {
          throw new Error(`${source}: ${split} modality '${m.name}' names band '${band}': ${(err as Error).message}`);
        }
      }
    }
  }
}

/** Modality lists of a run: the config's file, else the manifest's lists, else none (every band as read). */
export async function runModalityLists(config: RunConfig, manifest: Manifest): Promise<ModalityLists> {
  if (config.dataset.modalities !== '') return loadModalityListsFile(config.dataset.modalities);
  if (manifest.modalities !== undefined) {
    return resolveModalityLists(manifest.modalities, { source: `datasets/${manifest.name}/manifest.json modalities` });
  }
  return { train: [], val: [], test: [] };
}

/** Resolve, store (or, on resume, read back) the run. */
export async function prepareRun(store: ObjectStore, input: RunConfig, opts: PrepareOptions = {}): Promise<PreparedRun> {
  const now = opts.now ?? new Date();
  if (opts.resume === true) {
    if (input.run === '') throw new Error('--resume needs the run id (--run <id>) of the run to continue');
    const keys = runKeys(input.run);
    const json = await readJson(store, keys.config);
    if (json === undefined) {
      // Supervisors (Compose, a Kubernetes Job) always pass --resume: the first start begins the run.
      (opts.log ?? (() => undefined))(`run '${input.run}' has no stored config (${keys.config}) yet: starting it`);
      return prepareRun(store, input, { ...opts, resume: false });
    }
    const parsed = parseStoredRun(json, keys.config);
    const manifestJson = await readJson(store, parsed.manifestKey);
    if (manifestJson === undefined)
      throw new Error(`cannot resume run '${input.run}': its dataset manifest ${parsed.manifestKey} is gone from the store`);
    const manifest = parseManifest(JSON.stringify(manifestJson), parsed.manifestKey);
    const ctx = runContext(parsed, manifest, keys.config);
    return { run: input.run, stored: parsed, ctx, manifestKey: parsed.manifestKey, configKey: keys.config, lists: ctx.modalities };
  }
  const config = withRunId(input, now);
  const run = config.run;
  const keys = runKeys(run);
  if ((await readJson(store, keys.config)) !== undefined) {
    throw new Error(`run '${run}' already exists in the store (${keys.config}): continue it with --resume, or pick another --run`);
  }
  if (config.dataset.modalities !== '')
    checkModalityBands(await loadModalityListsFile(config.dataset.modalities), config.dataset.modalities);
  const { manifest, manifestKey } = await ensureDataset(store, config, opts);
  const lists = await runModalityLists(config, manifest);
  checkModalityBands(lists, config.dataset.modalities !== '' ? config.dataset.modalities : manifestKey);
  const model = resolveModelConfig(config, manifest);
  // A step whose single sample cannot fit a CPU worker's 4 GiB wasm heap would abort every
  // worker in a loop: refused now, naming the limit (memory-plan.ts). Larger steps that fit
  // when recomputed or micro-batched are planned by the workers themselves.
  try {
    planStepMemory(model, config.train.sliceSamples, config.train.maxAtoms, {
      microBatch: config.train.microBatch > 0 ? config.train.microBatch : undefined,
    });
  } catch (err) {
    throw new Error(`run '${run}': ${(err as Error).message}`);
  }
  const stored: StoredRun = {
    format: 'atomizer-run/1',
    config,
    manifestKey,
    model: model as unknown as Record<string, unknown>,
    modalities: {
      train: lists.train.map((m) => ({ ...m })),
      val: lists.val.map((m) => ({ ...m })),
      test: lists.test.map((m) => ({ ...m })),
    },
    params: paramCount(model),
    created: now.toISOString(),
  };
  await new RunStore(store, run).writeConfig(stored);
  const ctx = runContext(stored, manifest, keys.config);
  return { run, stored, ctx, manifestKey, configKey: keys.config, lists: ctx.modalities };
}
