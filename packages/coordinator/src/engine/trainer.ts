import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import {
  Adam,
  GradientAccumulator,
  OuterOptimizer,
  clipByGlobalNorm,
  cosineSchedule,
  globalNorm,
  initParams,
  loadCheckpoint,
  paramTableOf,
  saveCheckpoint,
  type AccumulatedGradient,
  type LrSchedule,
} from '@atomizer/model';
import {
  MetricEventSchema,
  encodeFlatChunks,
  evalSplits,
  isNotFoundError,
  parseMetricsJsonl,
  runKeys,
  sha256Hex,
  type EvalEvent,
  type EvalJob,
  type MetricEvent,
  type ObjectStore,
  type RoundEvent,
  type RunConfig,
  type RunStatus,
  type TrainJob,
} from '@atomizer/protocol';
import { deriveSeed, modalityKey, seenTag, type Modality } from '@atomizer/tokenizer';
import { z } from 'zod';
import { sliceUnits, takeSlices, type DataCursor } from './data-plan.js';
import { evalScores } from './eval-metrics.js';
import { RoundFailedError, type Executor } from './executor.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { OrderedFold, foldBudget } from './ordered-fold.js';
import { checkEvalResult, checkTrainResult, rereadTrainUpdate } from './results.js';
import { prepareRun, type PrepareOptions, type PreparedRun } from './run-setup.js';

// The coordinator's round loop (docs/design.md "Rounds", "Failure"): publish the
// round's weights, hand its slices to the executor, sum the accepted results
// in job-id order weighted by sample count, take the optimizer step (Adam on
// the mean gradient in sync mode, the outer optimizer on the mean delta in
// local mode), checkpoint, evaluate, log. Rounds are numbered 1..R; round r
// reads weights/<r-1> and produces weights/<r>.

export type Log = (msg: string, fields?: Record<string, unknown>) => void;

export interface TrainOptions {
  store: ObjectStore;
  executor: Executor;
  config: RunConfig;
  resume?: boolean;
  log?: Log;
  /** Every metrics event as it is logged (progress bars, dashboards in-process). */
  onEvent?: (e: MetricEvent, status: RunStatus) => void;
  onShardProgress?: PrepareOptions['onShardProgress'];
  /** Stop after the current round (Ctrl-C): checkpoint, then resolve with state 'stopped'. */
  signal?: AbortSignal;
}

export interface TrainResult {
  run: string;
  state: 'done' | 'stopped';
  round: number;
  weights: Float32Array;
  loss: number;
  evals: EvalEvent[];
  prepared: PreparedRun;
}

const LatestSchema = z.object({
  round: z.number().int().nonnegative(),
  key: z.string(),
  sha256: z.string(),
  time: z.string(),
});

/**
 * Write a round's weights to `key` as a flat object, streamed from the array (no encoded
 * copy of a 241 MB model). Resolves with the payload hash jobs carry and the bytes written.
 */
export async function publishWeights(
  store: ObjectStore,
  key: string,
  run: string,
  round: number,
  modelSha256: string,
  weights: Float32Array,
): Promise<{ payloadSha256: string; byteLength: number }> {
  const flat = encodeFlatChunks({ kind: 'weights', run, round, params: weights.length, modelConfigSha256: modelSha256 }, { weights });
  await store.put(key, Readable.from(flat.chunks));
  return { payloadSha256: flat.payloadSha256, byteLength: flat.byteLength };
}

class MetricsLog {
  events: MetricEvent[] = [];
  constructor(
    private readonly store: ObjectStore,
    private readonly key: string,
  ) {}
  async load(keepUpToRound: number): Promise<void> {
    try {
      const text = new TextDecoder().decode(await this.store.get(this.key));
      // A crashed session may have logged rounds after the checkpoint resumed from: drop them.
      this.events = parseMetricsJsonl(text, this.key).filter((e) => !('round' in e) || (e as { round: number }).round <= keepUpToRound || e.type === 'run-start');
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
    }
  }
  add(e: MetricEvent): void {
    this.events.push(MetricEventSchema.parse(e));
  }
  async flush(): Promise<void> {
    await this.store.put(this.key, new TextEncoder().encode(this.events.map((e) => JSON.stringify(e)).join('\n') + '\n'));
  }
}

interface OptimizerState {
  adam?: Adam;
  outer?: OuterOptimizer;
}

function makeOptimizers(cfg: RunConfig, size: number, decay: ReturnType<ReturnType<typeof paramTableOf>['ranges']>): OptimizerState {
  if (cfg.train.mode === 'sync') return { adam: new Adam(size, { kind: 'adamw', weightDecay: cfg.train.weightDecay, decayRanges: decay }) };
  return { outer: new OuterOptimizer(size, { kind: cfg.train.outerKind, lr: cfg.train.outerLr, momentum: cfg.train.outerMomentum }) };
}

export function lrSchedule(cfg: RunConfig): LrSchedule {
  const rounds = cfg.train.rounds;
  return cosineSchedule({
    peakLr: cfg.train.lr,
    minLr: Math.min(cfg.train.minLr, cfg.train.lr),
    totalSteps: rounds,
    warmupSteps: Math.min(cfg.train.warmupRounds, rounds - 1),
  });
}

/** Train a run to its last round (or resume it): the whole coordinator. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log: Log = opts.log ?? (() => undefined);
  const { store, executor } = opts;
  const prepared = await prepareRun(store, opts.config, {
    ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
    log,
    ...(opts.onShardProgress !== undefined ? { onShardProgress: opts.onShardProgress } : {}),
  });
  const { run, ctx } = prepared;
  const cfg = ctx.config;
  const keys = runKeys(run);
  const table = paramTableOf(ctx.model);
  const P = table.size;
  const units = sliceUnits(ctx.manifest, 'train', cfg.train.sliceSamples);
  if (units.length === 0) throw new Error(`dataset ${ctx.manifest.name} has no train samples`);
  const schedule = lrSchedule(cfg);
  const R = cfg.train.rounds;
  const S = cfg.train.slices;
  const opt = makeOptimizers(cfg, P, table.ranges());
  const budget = foldBudget(P);
  // One sum for the whole run (reset each round; the round's mean is written over it).
  const accumulator = new GradientAccumulator(P);
  const checks = new ConcurrencyLimit(budget.checksAtOnce);

  let weights: Float32Array;
  let cursor: DataCursor = { epoch: 0, position: 0 };
  let startRound = 1;
  const metrics = new MetricsLog(store, keys.metrics);
  if (opts.resume === true) {
    const latest = await readLatest(store, keys.latestCheckpoint);
    if (latest === undefined) {
      log(`run ${run}: no checkpoint yet (${keys.latestCheckpoint}); starting from round 1`);
      weights = initParams(ctx.model, cfg.seed);
    } else {
      const bytes = await store.get(latest.key);
      if (sha256Hex(bytes) !== latest.sha256) throw new Error(`checkpoint ${latest.key} does not match the sha256 in ${keys.latestCheckpoint}`);
      const cp = loadCheckpoint(bytes, latest.key);
      if (cp.meta['model.sha256'] !== ctx.modelSha256) throw new Error(`checkpoint ${latest.key} is from another model config than run ${run}`);
      weights = table.fromTensors(cp.weights);
      opt.adam?.loadTensors(cp.optimizerState);
      opt.outer?.loadTensors(cp.optimizerState);
      cursor = JSON.parse(cp.meta.cursor ?? '{"epoch":0,"position":0}') as DataCursor;
      startRound = latest.round + 1;
      log(`run ${run}: resuming after round ${latest.round} from ${latest.key}`);
    }
    await metrics.load(startRound - 1);
  } else {
    weights = initParams(ctx.model, cfg.seed);
  }
  const started = new Date().toISOString();
  const status: RunStatus = {
    run,
    state: 'running',
    round: startRound - 1,
    rounds: R,
    startRound,
    started,
    updated: started,
    mode: cfg.train.mode,
    dataset: ctx.manifest.name,
    params: P,
  };
  const emit = (e: MetricEvent): void => {
    metrics.add(e);
    status.updated = e.time;
    opts.onEvent?.(e, status);
  };
  // metrics.jsonl is rewritten whole: at most about once a second while rounds
  // are short (and always at checkpoints, evaluations and the end).
  let lastFlush = 0;
  const flush = async (force = true): Promise<void> => {
    if (!force && performance.now() - lastFlush < 1000) return;
    lastFlush = performance.now();
    await metrics.flush();
    await store.put(keys.status, new TextEncoder().encode(JSON.stringify(status)));
  };
  // Bookkeeping a round does not wait for (deleting spent slot states, the throttled
  // metrics/status write) is deferred to the next round and starts once its workers are
  // computing, so it never holds up their downloads or the weights publish. It is awaited
  // before every checkpoint, evaluation and the end; its first error stops the run at the
  // next round.
  let deferred: Array<() => Promise<void>> = [];
  let background: Promise<void> = Promise.resolve();
  let backgroundError: Error | undefined;
  const startDeferred = (): void => {
    for (const work of deferred) {
      background = background.then(work).catch((err: unknown) => {
        backgroundError ??= err as Error;
      });
    }
    deferred = [];
  };
  const settle = async (): Promise<void> => {
    startDeferred();
    await background;
    if (backgroundError !== undefined) throw backgroundError;
  };
  emit({
    type: 'run-start',
    time: new Date().toISOString(),
    run,
    dataset: ctx.manifest.name,
    mode: cfg.train.mode,
    rounds: R,
    slices: S,
    params: P,
    startRound,
    resumed: opts.resume === true,
    executor: executor.name,
  });
  await flush();

  let warnedBackends = false;
  const evals: EvalEvent[] = [];
  const checkpointRounds: number[] = startRound > 1 ? [startRound - 1] : [];
  let lastLoss = Number.NaN;
  let round = startRound - 1;
  // Local mode: payload sha256 of the inner state each slot left in the previous round.
  let innerShas = new Map<number, string>();
  const t0 = performance.now();
  let samplesDone = 0;
  try {
    for (round = startRound; round <= R; round++) {
      if (backgroundError !== undefined) throw backgroundError;
      const roundStart = performance.now();
      const cpuStart = process.cpuUsage();
      const weightsKey = keys.weights(round - 1);
      // Jobs carry the payload hash (decodeFlat reports it on the worker side).
      const published = await publishWeights(store, weightsKey, run, round - 1, ctx.modelSha256, weights);
      const payloadSha = published.payloadSha256;
      const publishMs = performance.now() - roundStart;
      const lr = schedule.lr(round - 1);
      // Sync: one unit of sliceSamples per slice. Local: one unit per local step.
      const perSlice = cfg.train.mode === 'sync' ? 1 : cfg.train.localSteps;
      const taken = takeSlices(units, cursor, S * perSlice, cfg.seed);
      const jobs: TrainJob[] = Array.from({ length: S }, (_, i) => taken.slices.slice(i * perSlice, (i + 1) * perSlice)).map((us, i) => ({
        kind: 'train',
        run,
        round,
        job: i,
        configKey: prepared.configKey,
        weightsKey,
        weightsSha256: payloadSha,
        manifestKey: prepared.manifestKey,
        parts: us.map((u) => ({ shard: u.shard, start: u.start, end: u.end })),
        seed: deriveSeed(cfg.seed, round, i),
        resultKey: keys.result(round, i),
        mode: cfg.train.mode,
        localSteps: cfg.train.mode === 'sync' ? 1 : cfg.train.localSteps,
        lr,
        ...(cfg.train.mode === 'local' && cfg.train.innerState === 'keep'
          ? {
              ...(round > 1 ? { innerStateKey: keys.innerState(round - 1, i) } : {}),
              ...(innerShas.has(i) ? { innerStateSha256: innerShas.get(i)! } : {}),
              innerStateOutKey: keys.innerState(round, i),
            }
          : {}),
      }));
      // Results are checked as they arrive (a bounded number read at once) and folded into the
      // sum in job-id order while the round runs; nothing of a result but its header is kept.
      accumulator.reset();
      const fold = new OrderedFold({
        accumulator,
        windowBytes: budget.windowBytes,
        // Re-reads share the checks' bound: at most checksAtOnce results being read at any time.
        reread: (r) => checks.run(() => rereadTrainUpdate(store, r.reply.resultKey, r)),
      });
      const outcome = await executor.trainRound(
        round,
        jobs,
        { quorum: cfg.rounds.quorum, deadlineMs: cfg.rounds.deadlineSeconds * 1000, attempts: cfg.rounds.attempts },
        async (job, reply) => {
          const c = await checks.run(() => checkTrainResult(store, job, reply, P));
          if (!c.ok) return c;
          void fold.offer(c.value.result, c.value.update);
          return { ok: true, value: c.value.result };
        },
        { onComputing: startDeferred },
      );
      const tAgg = performance.now();
      let mean: AccumulatedGradient;
      try {
        mean = await fold.finish(outcome.accepted.map((r) => r.job));
      } catch (err) {
        throw new RoundFailedError(`round ${round}: aggregation failed: ${(err as Error).message}`);
      }
      let gradNorm: number;
      // In place: a non-finite weight stops the run before anything is published or checkpointed.
      if (opt.adam !== undefined) {
        gradNorm = cfg.train.clipNorm > 0 ? clipByGlobalNorm(mean.grads, cfg.train.clipNorm).norm : globalNorm(mean.grads);
        opt.adam.update(weights, mean.grads, lr);
      } else {
        gradNorm = globalNorm(mean.grads);
        opt.outer!.apply(weights, mean.grads);
      }
      for (let i = 0; i < weights.length; i++) {
        if (!Number.isFinite(weights[i] as number)) throw new Error(`round ${round}: the update made weight ${i} non-finite; the stored weights of round ${round - 1} are kept`);
      }
      cursor = taken.cursor;
      // What each slot left this round (a worker that still holds it skips the download next round).
      innerShas = new Map(outcome.accepted.flatMap((r) => (r.reply.innerStateSha256 !== undefined ? [[r.job, r.reply.innerStateSha256] as const] : [])));
      const aggregateMs = performance.now() - tAgg;
      const now = new Date().toISOString();
      for (const r of outcome.accepted) {
        emit({
          type: 'job',
          time: now,
          round,
          job: r.job,
          worker: r.reply.worker,
          backend: r.reply.backend,
          samples: r.reply.samples,
          loss: r.reply.loss,
          atoms: r.reply.atoms,
          fetchMs: r.reply.fetchMs,
          batchMs: r.reply.batchMs,
          computeMs: r.reply.computeMs,
          uploadMs: r.reply.uploadMs,
          bytesIn: r.reply.bytesIn,
          bytesOut: r.reply.bytesOut,
          ...(r.reply.innerStateFromMemory !== undefined ? { innerStateFromMemory: r.reply.innerStateFromMemory } : {}),
        });
      }
      for (const r of outcome.rejected) emit({ type: 'rejected', time: now, round, job: r.job, reason: r.reason });
      const wallMs = performance.now() - roundStart;
      // The slowest worker's compute: per worker, the sum over its slices of batch building + compute.
      const perWorker = new Map<string, number>();
      for (const r of outcome.accepted) perWorker.set(r.reply.worker, (perWorker.get(r.reply.worker) ?? 0) + r.reply.batchMs + r.reply.computeMs);
      const slowest = Math.max(0, ...perWorker.values());
      const bytesMoved = outcome.accepted.reduce((n, r) => n + r.reply.bytesIn + r.reply.bytesOut, 0) + published.byteLength;
      samplesDone += mean.samples;
      lastLoss = mean.loss;
      const backends = [...new Set(outcome.accepted.map((r) => r.reply.backend))].sort();
      const roundEvent: RoundEvent = {
        type: 'round',
        time: new Date().toISOString(),
        round,
        loss: mean.loss,
        lr,
        samples: mean.samples,
        atoms: outcome.accepted.reduce((n, r) => n + r.meta.atoms, 0),
        wallMs,
        slowestComputeMs: slowest,
        overheadMs: Math.max(0, wallMs - slowest),
        aggregateMs,
        aggregation: {
          method: 'ordered-stream',
          foldMs: fold.stats.foldMs,
          rereads: fold.stats.rereads,
          heldPeakMB: fold.stats.peakHeldBytes / 2 ** 20,
          windowMB: budget.windowBytes / 2 ** 20,
          checksAtOnce: checks.limit,
        },
        publishMs,
        coordinator: coordinatorUsage(cpuStart),
        queuedMs: Math.max(0, ...outcome.accepted.map((r) => r.timing?.queuedMs ?? 0)),
        detectedMs: Math.max(0, ...outcome.accepted.map((r) => r.timing?.detectedMs ?? 0)),
        samplesPerSecond: mean.samples / (wallMs / 1000),
        bytesMoved,
        received: outcome.accepted.length,
        slices: S,
        late: outcome.late,
        failed: outcome.failed.map((f) => f.job),
        rejected: outcome.rejected,
        gradNorm,
        workers: [...new Set(outcome.accepted.map((r) => r.reply.worker))].sort(),
        backends,
      };
      if (backends.length > 1 && !warnedBackends) {
        warnedBackends = true;
        log(`round ${round}: workers on different backends (${backends.join(', ')}): results agree to ~1e-7, not bit for bit; runs are reproducible only on one backend`);
      }
      emit(roundEvent);
      if (outcome.late.length > 0 || outcome.failed.length > 0) {
        log(`round ${round}: closed on quorum with ${outcome.accepted.length}/${S} slices; late ${outcome.late.join(', ') || '-'}; failed ${outcome.failed.map((f) => `${f.job} (${f.reason})`).join(', ') || '-'}`);
      }
      const elapsed = (performance.now() - t0) / 1000;
      Object.assign(status, {
        round,
        loss: mean.loss,
        lr,
        samplesPerSecond: samplesDone / elapsed,
        etaSeconds: ((R - round) * elapsed) / (round - startRound + 1),
      });
      const last = round === R;
      const stopping = opts.signal?.aborted === true;
      const checkpointNow = last || stopping || (cfg.checkpoint.every > 0 && round % cfg.checkpoint.every === 0);
      if (checkpointNow) {
        await settle();
        await writeCheckpoint(store, run, round, table, weights, opt, cursor, ctx.modelSha256, cfg.checkpoint.keep);
        checkpointRounds.push(round);
      }
      // Retention: the round is committed, so its slice results and the weights it read are
      // spent (a resume starts from a checkpoint). Deleted while the next round computes;
      // the previous round's results folder again, for a late result written after its sweep.
      if (!cfg.checkpoint.keepResults) {
        const spentResults = [keys.resultsPrefix(round), ...(round > startRound ? [keys.resultsPrefix(round - 1)] : [])];
        const spentWeights = keys.weights(round - 1);
        deferred.push(async () => {
          for (const prefix of spentResults) for (const k of await store.list(prefix)) await store.delete(k);
          await store.delete(spentWeights);
        });
      }
      // Local mode: a slot's inner state of round r-1 was read by round r; keep it only if a
      // kept checkpoint resumes from it.
      if (cfg.train.mode === 'local' && round > 1 && !checkpointRounds.slice(-cfg.checkpoint.keep).includes(round - 1)) {
        const spent = keys.innerStatePrefix(round - 1);
        deferred.push(async () => {
          for (const k of await store.list(spent)) await store.delete(k);
        });
      }
      if (checkpointNow) {
        emit({ type: 'checkpoint', time: new Date().toISOString(), round, key: keys.checkpoint(round, 'state.safetensors') });
      }
      if (last || (cfg.eval.every > 0 && round % cfg.eval.every === 0)) {
        status.state = 'evaluating';
        await settle();
        await flush();
        const evalWeights = await publishWeights(store, keys.weights(round), run, round, ctx.modelSha256, weights);
        for (const e of await evaluate(prepared, executor, store, round, evalWeights.payloadSha256, log)) {
          evals.push(e);
          emit(e);
        }
        // The evaluation's results (under this round's folder) are spent once scored.
        if (!cfg.checkpoint.keepResults) {
          const spentEval = keys.resultsPrefix(round);
          deferred.push(async () => {
            for (const k of await store.list(spentEval)) await store.delete(k);
          });
        }
        status.state = 'running';
      }
      if (checkpointNow) await flush(); // a checkpoint's rounds are always in metrics.jsonl
      else deferred.push(() => flush(false));
      if (stopping && !last) {
        await settle();
        status.state = 'stopped';
        emit({ type: 'run-end', time: new Date().toISOString(), round, state: 'stopped', message: 'stopped on request; continue with --resume' });
        await flush();
        return { run, state: 'stopped', round, weights, loss: lastLoss, evals, prepared };
      }
    }
  } catch (err) {
    await settle().catch(() => undefined);
    status.state = 'failed';
    status.message = (err as Error).message;
    emit({ type: 'run-end', time: new Date().toISOString(), round, state: 'failed', message: (err as Error).message });
    await flush().catch(() => undefined);
    if (err instanceof RoundFailedError) throw new Error(`${err.message}. The weights of round ${round - 1} are kept; fix the cause and continue with --resume`);
    throw err;
  }
  await settle();
  status.state = 'done';
  emit({ type: 'run-end', time: new Date().toISOString(), round: R, state: 'done' });
  await flush();
  return { run, state: 'done', round: R, weights, loss: lastLoss, evals, prepared };
}

/** This process's CPU since `since` and its memory now and at its peak (round events, bench:scale). */
function coordinatorUsage(since: NodeJS.CpuUsage): { cpuMs: number; rssMB: number; peakRssMB: number } {
  const cpu = process.cpuUsage(since);
  return { cpuMs: (cpu.user + cpu.system) / 1000, rssMB: process.memoryUsage.rss() / 2 ** 20, peakRssMB: process.resourceUsage().maxRSS / 1024 };
}

async function readLatest(store: ObjectStore, key: string): Promise<z.infer<typeof LatestSchema> | undefined> {
  try {
    return LatestSchema.parse(JSON.parse(new TextDecoder().decode(await store.get(key))));
  } catch (err) {
    if (isNotFoundError(err)) return undefined;
    throw new Error(`${key} is unreadable (${(err as Error).message}); delete it to resume from an older checkpoint by hand`);
  }
}

async function writeCheckpoint(
  store: ObjectStore,
  run: string,
  round: number,
  table: ReturnType<typeof paramTableOf>,
  weights: Float32Array,
  opt: OptimizerState,
  cursor: DataCursor,
  modelSha: string,
  keep: number,
): Promise<void> {
  const keys = runKeys(run);
  const optimizerState = opt.adam?.toTensors() ?? opt.outer?.toTensors() ?? {};
  const bytes = saveCheckpoint({
    weights: table.toTensors(weights),
    optimizerState,
    meta: { run, round: String(round), cursor: JSON.stringify(cursor), 'model.sha256': modelSha },
  });
  const key = keys.checkpoint(round, 'state.safetensors');
  await store.put(key, bytes);
  // latest.json last: a crash before this line leaves the previous checkpoint as latest.
  await store.put(keys.latestCheckpoint, new TextEncoder().encode(JSON.stringify({ round, key, sha256: sha256Hex(bytes), time: new Date().toISOString() })));
  const rounds = new Set<number>();
  for (const k of await store.list(`${keys.root}checkpoints/`)) {
    const m = /checkpoints\/(\d+)\//.exec(k);
    if (m !== null) rounds.add(Number(m[1]));
  }
  const old = [...rounds].sort((a, b) => b - a).slice(keep);
  for (const r of old) {
    for (const k of await store.list(keys.checkpointPrefix(r))) await store.delete(k);
    for (const k of await store.list(keys.innerStatePrefix(r))) await store.delete(k);
  }
}

/** Evaluation jobs for every eval split x (train modalities, tagged seen + the split's own list). */
async function evaluate(prepared: PreparedRun, executor: Executor, store: ObjectStore, round: number, weightsSha256: string, log: Log): Promise<EvalEvent[]> {
  const { ctx, run } = prepared;
  const cfg = ctx.config;
  const keys = runKeys(run);
  const weightsKey = keys.weights(round);
  const plan: Array<{ split: 'val' | 'test'; modality: Modality; seen: 'seen' | 'unseen' }> = [];
  for (const split of evalSplits(cfg)) {
    const seenList = ctx.modalities.train.length > 0 ? ctx.modalities.train : [];
    const seenKeys = new Set<string>();
    for (const m of seenList) {
      seenKeys.add(modalityKey(m));
      plan.push({ split, modality: m, seen: 'seen' });
    }
    for (const m of ctx.modalities[split]) {
      if (seenKeys.has(modalityKey(m))) continue;
      plan.push({ split, modality: m, seen: seenTag(m, ctx.modalities) });
    }
    if (seenList.length === 0 && ctx.modalities[split].length === 0) {
      plan.push({ split, modality: { name: 'native' } as Modality, seen: 'seen' });
    }
  }
  const jobs: EvalJob[] = [];
  const jobPlan = new Map<string, number>();
  plan.forEach((p, pi) => {
    const units = sliceUnits(ctx.manifest, p.split, cfg.eval.sliceSamples, cfg.eval.maxSamples);
    units.forEach((u, ui) => {
      const job = `${p.split}-m${pi}-${ui}`;
      jobPlan.set(job, pi);
      jobs.push({
        kind: 'eval',
        run,
        round,
        job,
        configKey: prepared.configKey,
        weightsKey,
        weightsSha256,
        manifestKey: prepared.manifestKey,
        shardKey: u.shardKey,
        shardSha256: u.shardSha256,
        start: u.start,
        end: u.end,
        seed: deriveSeed(cfg.seed, 0xe7a1, round, pi, ui),
        resultKey: keys.result(round, job),
        split: p.split,
        modality: p.modality.name,
      });
    });
  });
  if (jobs.length === 0) return [];
  const classes = ctx.model.numClasses;
  const outcome = await executor.evaluate(round, jobs, cfg.rounds.attempts, (job, reply) => checkEvalResult(store, job, reply, classes));
  for (const f of outcome.failed) log(`round ${round}: eval job ${f.job} failed: ${f.reason}`);
  const events: EvalEvent[] = [];
  plan.forEach((p, pi) => {
    const results = outcome.accepted.filter((r) => jobPlan.get(r.job) === pi).sort((a, b) => (a.job < b.job ? -1 : 1));
    const scores: Float32Array[] = [];
    const labels: number[][] = [];
    let lossSum = 0;
    let skipped = 0;
    for (const r of results) {
      for (let i = 0; i < r.meta.samples; i++) scores.push(r.scores.subarray(i * classes, (i + 1) * classes));
      labels.push(...r.labels);
      lossSum += r.meta.loss * r.meta.samples;
      skipped += r.meta.skipped;
    }
    const base = { type: 'eval' as const, time: new Date().toISOString(), round, split: p.split, modality: p.modality.name, seen: p.seen, samples: labels.length, skipped, loss: labels.length > 0 ? lossSum / labels.length : 0 };
    if (labels.length === 0) {
      events.push(base);
      return;
    }
    events.push({ ...base, ...evalScores(ctx.model.task, scores, labels, classes) });
  });
  return events;
}
