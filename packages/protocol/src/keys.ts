// The object-store key layout of docs/design.md ("Object store layout"), in one place.
// Every process builds keys here, never by string concatenation of its own.
//
//   datasets/<name>/manifest.json                         written last: it names the build its shards are in
//   datasets/<name>/builds/<build>/shards/<split>/<id>.bin  one sharding attempt's shards (staged, then published by the manifest)
//   datasets/<name>/builds/<build>/attempt.json            the attempt while it runs (heartbeat); gone once it published or failed
//   datasets/<name>/shards/<split>/<id>.bin                shards of manifests written before builds (still read)
//   runs/<run>/config.json
//   runs/<run>/weights/<round>.bin
//   runs/<run>/results/<round>/<job>.bin
//   runs/<run>/checkpoints/<round>/<file>
//   runs/<run>/checkpoints/latest.json
//   runs/<run>/inner/<round>/<job>.bin      local mode: a slot's inner optimizer state after the round
//   runs/<run>/metrics.jsonl
//   runs/<run>/status.json
//   runs/<run>/config-changes.jsonl           changes a --resume applied to config.json, one record per resume
//
// Numbers (shard ids, rounds, numeric job ids) are zero-padded to 6 digits so that a
// listing, which S3 sorts lexicographically, comes back in numeric order.

/** Digits of zero-padded numeric key parts. Larger numbers still work, just unpadded. */
export const KEY_NUMBER_WIDTH = 6;

const MAX_NAME_LENGTH = 200;

/**
 * Check a name that becomes one key segment (dataset, run, split, checkpoint file, job).
 * `field` names what was wrong in the error, e.g. 'run name'.
 */
export function validateKeyName(field: string, name: string): string {
  const fail = (why: string): never => {
    throw new Error(`invalid ${field} ${JSON.stringify(name)}: ${why}`);
  };
  if (typeof name !== 'string') fail(`expected a string, got ${typeof name}`);
  if (name.length === 0) fail('must not be empty');
  if (name.length > MAX_NAME_LENGTH) fail(`must be at most ${MAX_NAME_LENGTH} characters`);
  if (name.includes('/') || name.includes('\\')) fail("must not contain '/' or '\\'");
  if (name.includes('..')) fail("must not contain '..'");
  if (name === '.') fail("must not be '.'");
  if (/[\s\u0000-\u001f\u007f]/.test(name)) fail('must not contain whitespace or control characters');
  return name;
}

/** Zero-padded decimal for a non-negative integer key part: 42 -> '000042'. */
export function formatKeyNumber(field: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`invalid ${field} ${String(n)}: expected a non-negative integer`);
  }
  return String(n).padStart(KEY_NUMBER_WIDTH, '0');
}

/** Parse a key part written by formatKeyNumber back to its number, or undefined. */
export function parseKeyNumber(part: string): number | undefined {
  return /^\d+$/.test(part) ? Number(part) : undefined;
}

export interface DatasetKeys {
  /** 'datasets/<name>/' — list this to see everything of the dataset. */
  root: string;
  manifest: string;
  /** 'datasets/<name>/builds/' — every sharding attempt's prefix is under it. */
  buildsPrefix: string;
  /** The keys of one sharding attempt (`build` from newBuildId: time-ordered, unique). */
  build(build: string): DatasetBuildKeys;
  /** The build a key belongs to ('datasets/<name>/builds/<build>/...' -> '<build>'), or undefined. */
  buildOf(key: string): string | undefined;
  /** 'datasets/<name>/shards/<split>/': the shard layout before builds; manifests written then still point here. */
  shardsPrefix(split: string): string;
  /** A shard of the layout before builds. */
  shard(split: string, id: number): string;
}

/** One sharding attempt: shards are staged under `root`, and published by a manifest that lists them. */
export interface DatasetBuildKeys {
  build: string;
  /** 'datasets/<name>/builds/<build>/' */
  root: string;
  /** The attempt's heartbeat while it runs (who, since when, last seen). */
  attempt: string;
  /** 'datasets/<name>/builds/<build>/shards/<split>/' */
  shardsPrefix(split: string): string;
  shard(split: string, id: number): string;
}

const BUILD_ID = /^\d{8}T\d{6}\d{3}Z-[0-9a-f]{8}$/;

function randomHex8(): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A new build id: the UTC time to the millisecond, then 8 random hex digits
 * ('20261127T133000123Z-1f2e3d4c'), so ids sort by start time and two attempts never share one.
 */
export function newBuildId(now: Date = new Date(), random: string = randomHex8()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  const id = `${stamp}-${random}`;
  if (!BUILD_ID.test(id)) throw new Error(`invalid build id ${JSON.stringify(id)}: expected <yyyymmddThhmmssmmm>Z-<8 hex digits>`);
  return id;
}

export function datasetKeys(name: string): DatasetKeys {
  validateKeyName('dataset name', name);
  const root = `datasets/${name}/`;
  const buildsPrefix = `${root}builds/`;
  const shardsPrefix = (split: string): string => `${root}shards/${validateKeyName('split name', split)}/`;
  return {
    root,
    manifest: `${root}manifest.json`,
    buildsPrefix,
    build: (build) => {
      if (!BUILD_ID.test(build))
        throw new Error(`invalid build id ${JSON.stringify(build)}: expected <yyyymmddThhmmssmmm>Z-<8 hex digits> (newBuildId)`);
      const buildRoot = `${buildsPrefix}${build}/`;
      const buildShards = (split: string): string => `${buildRoot}shards/${validateKeyName('split name', split)}/`;
      return {
        build,
        root: buildRoot,
        attempt: `${buildRoot}attempt.json`,
        shardsPrefix: buildShards,
        shard: (split, id) => `${buildShards(split)}${formatKeyNumber('shard id', id)}.bin`,
      };
    },
    buildOf: (key) => {
      if (!key.startsWith(buildsPrefix)) return undefined;
      const build = key.slice(buildsPrefix.length).split('/')[0] ?? '';
      return BUILD_ID.test(build) ? build : undefined;
    },
    shardsPrefix,
    shard: (split, id) => `${shardsPrefix(split)}${formatKeyNumber('shard id', id)}.bin`,
  };
}

export interface RunKeys {
  /** 'runs/<run>/' */
  root: string;
  config: string;
  weights(round: number): string;
  /** 'runs/<run>/results/<round>/' */
  resultsPrefix(round: number): string;
  /** Deterministic per (run, round, job): a job delivered twice overwrites its own result. */
  result(round: number, job: number | string): string;
  /** 'runs/<run>/checkpoints/<round>/' */
  checkpointPrefix(round: number): string;
  checkpoint(round: number, file: string): string;
  /** Written last, after every file of a checkpoint: its presence means the checkpoint is complete. */
  latestCheckpoint: string;
  /** 'runs/<run>/inner/<round>/' */
  innerStatePrefix(round: number): string;
  /** Local mode: inner optimizer state of slot `job` after `round` (DiLoCo keeps it per replica). */
  innerState(round: number, job: number): string;
  metrics: string;
  /** The run at a glance (metrics.ts RunStatusSchema), rewritten every round. */
  status: string;
  /** One JSON record per resume that changed config.json (time, round, the fields with old and new values). */
  configChanges: string;
  /** 'runs/<run>/predict/<id>/': the partial results of one `atomizer predict --redis`, deleted when its map is written. */
  predictPrefix(id: string): string;
  /** A predict job's result: tiles [start, end) of the map. */
  predictResult(id: string, start: number, end: number): string;
}

export function runKeys(run: string): RunKeys {
  validateKeyName('run name', run);
  const root = `runs/${run}/`;
  const resultsPrefix = (round: number): string => `${root}results/${formatKeyNumber('round', round)}/`;
  const checkpointPrefix = (round: number): string => `${root}checkpoints/${formatKeyNumber('round', round)}/`;
  return {
    root,
    config: `${root}config.json`,
    weights: (round) => `${root}weights/${formatKeyNumber('round', round)}.bin`,
    resultsPrefix,
    result: (round, job) =>
      `${resultsPrefix(round)}${typeof job === 'number' ? formatKeyNumber('job id', job) : validateKeyName('job id', job)}.bin`,
    checkpointPrefix,
    checkpoint: (round, file) => {
      // 'latest.json' lives beside the round folders; a file of that name inside one is fine.
      return `${checkpointPrefix(round)}${validateKeyName('checkpoint file name', file)}`;
    },
    latestCheckpoint: `${root}checkpoints/latest.json`,
    innerStatePrefix: (round) => `${root}inner/${formatKeyNumber('round', round)}/`,
    innerState: (round, job) => `${root}inner/${formatKeyNumber('round', round)}/${formatKeyNumber('job id', job)}.bin`,
    metrics: `${root}metrics.jsonl`,
    status: `${root}status.json`,
    configChanges: `${root}config-changes.jsonl`,
    predictPrefix: (id) => `${root}predict/${validateKeyName('predict id', id)}/`,
    predictResult: (id, start, end) =>
      `${root}predict/${validateKeyName('predict id', id)}/${formatKeyNumber('tile', start)}-${formatKeyNumber('tile', end)}.bin`,
  };
}
