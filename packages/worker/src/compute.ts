import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Adam,
  gradients,
  localSteps,
  paramTableOf,
  planStepMemory,
  predict,
  classificationLoss,
  labelsToTargets,
  nativeGegluActive,
  type MemoryPlan,
} from '@atomizer/model';
import {
  SCRATCH,
  decodeFlat,
  encodeFlat,
  flatPayloadSha256,
  getIfExists,
  type AtomizerJob,
  type EvalJob,
  type EvalResultMeta,
  type JobReply,
  type ObjectStore,
  type TrainJob,
  type TrainResultMeta,
} from '@atomizer/protocol';
import { deriveSeed, type AtomBatch, type Sample } from '@atomizer/tokenizer';
import * as tf from '@atomizer/model/tfjs';
import { predictJob } from './predict-job.js';
import { reduceJob } from './reduce-job.js';
import { JobCache, type InnerState, type JobCacheOptions, type ShardJob } from './job-cache.js';
import { PermanentJobError } from './job-errors.js';
import { buildEvalBatch, buildTrainBatch, evalModality, type RunContext } from './run-context.js';
import { stubLoss, stubUpdate, type ComputeMode } from './stub-compute.js';
import { encodeTransport, transportMeta } from './transport.js';

// One job, start to finish: fetch the run context, the round's weights (cached
// per round) and the shard (disk cache with a size bound, shard-cache.ts, checked
// against the manifest's sha256), build the seeded batch, compute, upload the result to its
// deterministic key. Runs in the compute process (compute-child.ts), never in
// the process that holds the BullMQ lock, and in-process for the reference loop.

export interface ComputeOptions extends JobCacheOptions {
  /** Backend name for replies and result headers (e.g. 'wasm', 'tensorflow-gpu'). */
  backend: string;
  /** Worker id for replies and logs. */
  worker: string;
  /** 'stub': no model; train jobs return a pseudo-gradient of the run's size, eval jobs zero scores (scale simulations). Default 'model'. */
  compute?: ComputeMode;
  onProgress?: (stage: string, detail?: Record<string, unknown>) => void;
}

interface SampleRange {
  shardKey: string;
  shardSha256: string;
  start: number;
  end: number;
}

async function shardSamples(cache: JobCache, job: ShardJob, r: SampleRange, counters: { bytesIn: number }): Promise<Sample[]> {
  const bytes = await cache.shard(r.shardKey, r.shardSha256, counters);
  const reader = cache.reader(bytes, r.shardKey, r.shardSha256);
  const n = reader.header.samples.length;
  if (r.end > n)
    throw new PermanentJobError(`job ${job.run}/${job.round}/${job.job}: samples [${r.start}, ${r.end}) but ${r.shardKey} holds ${n}`);
  return cache.samples(reader, r.shardSha256, r.start, r.end);
}

/** A train job's parts as sample ranges of the manifest's train shards (key and sha256 from the manifest). */
function trainRanges(job: TrainJob, ctx: RunContext): SampleRange[] {
  return job.parts.map((p, h) => {
    const shard = ctx.manifest.shards.train[p.shard];
    if (shard === undefined) {
      throw new PermanentJobError(
        `job ${job.run}/${job.round}/${job.job}: part ${h} names train shard ${p.shard}, the manifest lists ${ctx.manifest.shards.train.length}`,
      );
    }
    return { shardKey: shard.key, shardSha256: shard.sha256, start: p.start, end: p.end };
  });
}

/** A slot's inner AdamW state; undefined when missing (first round, a late slot): the slot starts fresh. */
async function fetchInnerState(store: ObjectStore, key: string, counters: { bytesIn: number }): Promise<InnerState | undefined> {
  const bytes = await getIfExists(store, key);
  if (bytes === undefined) return undefined;
  counters.bytesIn += bytes.byteLength;
  const flat = decodeFlat(bytes, key);
  const step = flat.meta.step;
  const { m, v } = flat.arrays;
  if (typeof step !== 'number' || !(m instanceof Float32Array) || !(v instanceof Float32Array)) {
    throw new PermanentJobError(`${key}: not an inner optimizer state (step, m, v)`);
  }
  return { step, m, v };
}

export interface JobOutput {
  reply: JobReply;
}

/** Run one job against the store: the whole worker-side contract. */
export async function runJob(job: AtomizerJob, cache: JobCache, opts: ComputeOptions): Promise<JobOutput> {
  const counters = { bytesIn: 0 };
  const t0 = performance.now();
  opts.onProgress?.('fetch');
  if (job.kind === 'reduce') return reduceJob(job, opts);
  const ctx = await cache.context(job.configKey);
  if (ctx.config.run !== job.run)
    throw new PermanentJobError(`job for run ${job.run} names the config of run ${ctx.config.run} (${job.configKey})`);
  if (job.kind === 'predict') return predictJob(job, ctx, cache, opts);
  if (job.kind === 'train') {
    // Weights, shards and the slot's inner state travel at the same time; the state not at
    // all when this process left exactly the one the job names.
    const kept =
      job.mode === 'local' && job.innerStateKey !== undefined && job.innerStateSha256 !== undefined
        ? cache.innerState(job.innerStateKey, job.innerStateSha256)
        : undefined;
    const [weights, parts, innerState] = await Promise.all([
      cache.roundWeights(job, ctx, counters),
      (async () => {
        const out: Sample[][] = [];
        for (const r of trainRanges(job, ctx)) out.push(await shardSamples(cache, job, r, counters));
        return out;
      })(),
      kept !== undefined
        ? Promise.resolve(kept)
        : job.mode === 'local' && job.innerStateKey !== undefined
          ? fetchInnerState(opts.store, job.innerStateKey, counters)
          : Promise.resolve(undefined),
    ]);
    const t1 = performance.now();
    opts.onProgress?.('batch', { samples: parts.reduce((n, p) => n + p.length, 0) });
    return trainJob(job, ctx, weights, parts, innerState, kept !== undefined, cache, opts, counters, t0, t1);
  }
  const weights = await cache.roundWeights(job, ctx, counters);
  const samples = await shardSamples(cache, job, job, counters);
  const t1 = performance.now();
  opts.onProgress?.('batch', { samples: samples.length });
  return evalJob(job, ctx, weights, samples, opts, counters, t0, t1);
}

async function upload(opts: ComputeOptions, key: string, bytes: Uint8Array): Promise<number> {
  const t = performance.now();
  // Scratch: a round's result is computed again if lost (a resume reruns its rounds).
  await opts.store.put(key, bytes, SCRATCH);
  return performance.now() - t;
}

async function trainJob(
  job: TrainJob,
  ctx: RunContext,
  weights: Float32Array,
  parts: Sample[][],
  innerState: InnerState | undefined,
  innerStateFromMemory: boolean,
  cache: JobCache,
  opts: ComputeOptions,
  counters: { bytesIn: number },
  t0: number,
  t1: number,
): Promise<JobOutput> {
  const step = opts.compute === 'stub' ? stubTrainStep(job, ctx, parts, opts) : modelTrainStep(job, ctx, weights, parts, innerState, opts);
  const { update, loss, gradNorm, atoms, samplesUsed, innerOut, t2 } = step;
  const t3 = performance.now();
  const meta: TrainResultMeta = {
    kind: 'train-result',
    run: job.run,
    round: job.round,
    job: job.job,
    mode: job.mode,
    weightsSha256: job.weightsSha256,
    samples: samplesUsed,
    loss,
    atoms,
    gradNorm,
    backend: opts.backend,
    worker: opts.worker,
  };
  const transport = ctx.config.train.transport;
  const bytes = encodeFlat({ ...meta, ...transportMeta(transport) }, { update: encodeTransport(update, transport) });
  opts.onProgress?.('upload');
  // The inner state first or together: the result is what the coordinator waits for. Both
  // scratch: the coordinator persists a round's inner states before a checkpoint names them.
  const [uploadMs] = await Promise.all([
    upload(opts, job.resultKey, bytes),
    innerOut !== undefined ? opts.store.put(innerOut.key, innerOut.bytes, SCRATCH) : undefined,
  ]);
  // Stored, so the slot's next job may take it from here if it lands on this process.
  const innerStateSha256 = innerOut !== undefined ? flatPayloadSha256(innerOut.bytes, innerOut.key) : undefined;
  if (innerOut !== undefined && innerStateSha256 !== undefined)
    cache.keepInnerState(innerOut.key, innerStateSha256, innerOut.state, job.innerStateKey);
  return {
    reply: {
      ...jobReply(job, opts, {
        samples: samplesUsed,
        loss,
        atoms,
        times: [t0, t1, t2, t3],
        uploadMs,
        bytesIn: counters.bytesIn,
        bytesOut: bytes.byteLength + (innerOut?.bytes.byteLength ?? 0),
      }),
      ...(innerStateSha256 !== undefined ? { innerStateSha256 } : {}),
      ...(job.mode === 'local' && job.innerStateKey !== undefined ? { innerStateFromMemory } : {}),
    },
  };
}

/** The reply every job sends: which result, what it held, where the time went (fetch, batch, compute, upload) and the bytes moved. */
function jobReply(
  job: ShardJob,
  opts: ComputeOptions,
  f: {
    samples: number;
    loss: number;
    atoms: number;
    times: [number, number, number, number];
    uploadMs: number;
    bytesIn: number;
    bytesOut: number;
  },
): JobReply {
  const [t0, t1, t2, t3] = f.times;
  return {
    resultKey: job.resultKey,
    run: job.run,
    round: job.round,
    job: job.job,
    samples: f.samples,
    loss: f.loss,
    atoms: f.atoms,
    fetchMs: t1 - t0,
    batchMs: t2 - t1,
    computeMs: t3 - t2,
    uploadMs: f.uploadMs,
    bytesIn: f.bytesIn,
    bytesOut: f.bytesOut,
    backend: opts.backend,
    worker: opts.worker,
  };
}

interface TrainStep {
  update: Float32Array;
  loss: number;
  gradNorm: number;
  atoms: number;
  samplesUsed: number;
  innerOut: { key: string; bytes: Uint8Array; state: InnerState } | undefined;
  /** When the batches were built (compute starts). */
  t2: number;
}

/** The model's gradient (sync) or local steps' delta (local) for one train job. */
function modelTrainStep(
  job: TrainJob,
  ctx: RunContext,
  weights: Float32Array,
  parts: Sample[][],
  innerState: InnerState | undefined,
  opts: ComputeOptions,
): TrainStep {
  // Part h (one per local step) draws its views and atoms from deriveSeed(seed, h); part 0 from the seed itself.
  const batches = parts.map((samples, h) => {
    const b = buildTrainBatch(samples, ctx, h === 0 ? job.seed : deriveSeed(job.seed, h));
    if (b === undefined) {
      const p = job.parts[h]!;
      throw new PermanentJobError(
        `job ${job.run}/${job.round}/${job.job}: no sample of train shard ${p.shard} [${p.start}, ${p.end}) keeps an atom in the train modalities`,
      );
    }
    return b;
  });
  const built = batches[0]!;
  const atoms = batches.reduce((n, b) => n + b.atoms, 0);
  const t2 = performance.now();
  opts.onProgress?.('compute', { samples: batches.reduce((n, b) => n + b.labels.length, 0), atoms });
  const train = ctx.config.train;
  const gopts = {
    seed: job.seed,
    ...stepMemory(
      job,
      ctx,
      batches.map((b) => b.batch),
      opts,
    ),
  };
  let update: Float32Array;
  let loss: number;
  let gradNorm = 0;
  let innerOut: { key: string; bytes: Uint8Array; state: InnerState } | undefined;
  const samplesUsed = batches.reduce((n, b) => n + b.labels.length, 0);
  if (job.mode === 'sync') {
    const g = gradients(weights, built.batch, built.labels, ctx.model, gopts);
    update = g.grads;
    loss = g.loss;
    gradNorm = g.gradNorm;
  } else {
    const table = paramTableOf(ctx.model);
    const inner = new Adam(table.size, { kind: 'adamw', weightDecay: train.weightDecay, decayRanges: table.ranges() });
    if (innerState !== undefined) {
      if (innerState.m.length !== inner.size || innerState.v.length !== inner.size) {
        throw new PermanentJobError(`${job.innerStateKey}: not an inner optimizer state of ${inner.size} parameters`);
      }
      inner.setState(innerState);
    }
    const r = localSteps(
      weights,
      batches.map((b) => ({ batch: b.batch, labels: b.labels })),
      job.localSteps,
      inner,
      job.lr,
      ctx.model,
      {
        ...gopts,
        ...(train.clipNorm > 0 ? { clipNorm: train.clipNorm } : {}),
      },
    );
    update = r.delta;
    loss = r.loss;
    if (job.innerStateOutKey !== undefined) {
      const st = inner.getState();
      innerOut = {
        key: job.innerStateOutKey,
        bytes: encodeFlat({ kind: 'inner-state', run: job.run, round: job.round, job: job.job, step: st.step }, { m: st.m, v: st.v }),
        state: st,
      };
    }
  }
  return { update, loss, gradNorm, atoms, samplesUsed, innerOut, t2 };
}

const plansLogged = new Set<string>();

/**
 * Micro-batch and layer recomputation of a train step. On the wasm backend (a 4 GiB heap)
 * they come from the model's memory plan (memory-plan.ts): the plain step when it fits, else
 * the cheaper by its time estimate of the whole batch with the fewest layers recomputed that
 * fit (same bits) and micro-batches (other bits); decided from the config, the batch and the
 * kernels alone, so every worker with the same build takes the same. Elsewhere:
 * train.microBatch. A plan that differs from the plain step is logged once per run and shape.
 */
function stepMemory(
  job: TrainJob,
  ctx: RunContext,
  batches: readonly AtomBatch[],
  opts: ComputeOptions,
): { microBatch?: number; recomputedLayers?: number } {
  const given = ctx.config.train.microBatch;
  if (tf.getBackend() !== 'wasm') return given > 0 ? { microBatch: given } : {};
  const samples = Math.max(...batches.map((b) => b.batchSize));
  const atoms = Math.max(...batches.map((b) => b.maxAtoms));
  let plan: MemoryPlan;
  try {
    // The heap fit of the kernels this worker runs (the fused GEGLU gate keeps a third less).
    const fusedGate = nativeGegluActive();
    plan = planStepMemory(ctx.model, samples, atoms, given > 0 ? { microBatch: given, fusedGate } : { fusedGate });
  } catch (err) {
    throw new PermanentJobError(`job ${job.run}/${job.round}/${job.job}: ${(err as Error).message}`);
  }
  const key = `${job.run} ${samples} ${atoms}`;
  const recomputed = plan.recomputedLayers > 0;
  if ((recomputed || plan.microBatch < samples) && !plansLogged.has(key)) {
    plansLogged.add(key);
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    (opts.onWarning ?? ((m: string) => process.stderr.write(`${m}\n`)))(
      `run ${job.run}: a step of ${samples} samples x ${atoms} atoms needs about ${gib(plan.plainBytes)} of wasm heap (budget ${gib(plan.budgetBytes)}): ` +
        `${recomputed ? `${plan.recomputedLayers} of ${ctx.model.depth} layers recomputed in the backward pass` : ''}${recomputed && plan.microBatch < samples ? ', ' : ''}` +
        `${plan.microBatch < samples ? `micro-batches of ${plan.microBatch}` : ''} (about ${gib(plan.bytes)})`,
    );
  }
  return { microBatch: plan.microBatch, recomputedLayers: plan.recomputedLayers };
}

/** `--compute stub`: the run's size of pseudo-gradient, no model (scale simulations). */
function stubTrainStep(job: TrainJob, ctx: RunContext, parts: Sample[][], opts: ComputeOptions): TrainStep {
  const samplesUsed = parts.reduce((n, p) => n + p.length, 0);
  const t2 = performance.now();
  opts.onProgress?.('compute', { samples: samplesUsed, atoms: 0 });
  return {
    update: stubUpdate(job, paramTableOf(ctx.model).size),
    loss: stubLoss(job),
    gradNorm: 0,
    atoms: 0,
    samplesUsed,
    innerOut: undefined,
    t2,
  };
}

async function evalJob(
  job: EvalJob,
  ctx: RunContext,
  weights: Float32Array,
  samples: Sample[],
  opts: ComputeOptions,
  counters: { bytesIn: number },
  t0: number,
  t1: number,
): Promise<JobOutput> {
  const modality = evalModality(ctx, job.modality);
  // Stub compute: the samples' labels, every class scored 0, no batch built.
  const built = opts.compute === 'stub' ? undefined : buildEvalBatch(samples, modality, ctx, job.seed);
  const rows = opts.compute === 'stub' ? samples.map((s) => s.labels) : (built?.labels ?? []);
  const t2 = performance.now();
  opts.onProgress?.('compute', { samples: rows.length });
  const C = ctx.model.numClasses;
  let scores: Float32Array = new Float32Array(rows.length * C);
  let loss = 0;
  const labels: number[] = [];
  const offsets: number[] = [0];
  if (built !== undefined) {
    scores = predict(weights, built.batch, ctx.model);
    const logits = tf.tensor2d(scores, [built.labels.length, C]);
    const targets = labelsToTargets(built.labels, C, ctx.model.task);
    try {
      loss = tf.tidy(() => classificationLoss(ctx.model.task, logits, targets)).dataSync()[0] as number;
    } finally {
      logits.dispose();
      targets.dispose();
    }
  }
  for (const l of rows) {
    labels.push(...l);
    offsets.push(labels.length);
  }
  const t3 = performance.now();
  const n = rows.length;
  const meta: EvalResultMeta = {
    kind: 'eval-result',
    run: job.run,
    round: job.round,
    job: job.job,
    split: job.split,
    modality: job.modality,
    weightsSha256: job.weightsSha256,
    samples: n,
    classes: C,
    skipped: opts.compute === 'stub' ? 0 : (built?.dropped.length ?? samples.length),
    atoms: built?.atoms ?? 0,
    loss,
    backend: opts.backend,
    worker: opts.worker,
  };
  const bytes = encodeFlat(meta, { scores, labels: Int32Array.from(labels), labelOffsets: Int32Array.from(offsets) });
  const uploadMs = await upload(opts, job.resultKey, bytes);
  return {
    reply: jobReply(job, opts, {
      samples: n,
      loss,
      atoms: built?.atoms ?? 0,
      times: [t0, t1, t2, t3],
      uploadMs,
      bytesIn: counters.bytesIn,
      bytesOut: bytes.byteLength,
    }),
  };
}

/** A stable short id for a cache folder of a store location. */
export function cacheFolderName(location: string): string {
  return createHash('sha256').update(location).digest('hex').slice(0, 16);
}
