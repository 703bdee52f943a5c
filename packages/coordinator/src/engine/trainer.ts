import { performance } from 'node:perf_hooks';
import { paramTableOf, type AccumulatedGradient } from '@atomizer/model';
import {
  FLAT_CHUNK_BYTES,
  planRanges,
  type EvalEvent,
  type MetricEvent,
  type ObjectStore,
  type RunConfig,
  type RunStatus,
} from '@atomizer/protocol';
import { RunStore } from '../run-store.js';
import { startState, writeCheckpoint } from './checkpoints.js';
import { sliceUnits, takeSlices } from './data-plan.js';
import { DeferredWork } from './deferred-work.js';
import { evaluate } from './evaluation.js';
import { RoundFailedError, type Executor } from './executor.js';
import { LeaseHeldError, LeaseLostError } from './run-lease.js';
import { MetricsLog } from './metrics-log.js';
import { lrSchedule, makeOptimizers, optimizerStep } from './optimizers.js';
import { OrderedFold, foldingCheck } from './ordered-fold.js';
import { WorkerReduce } from './worker-reduce.js';
import { RangeReducers } from './range-reducers.js';
import { spentAfterEvaluation, spentAfterRound, type Spent } from './retention.js';
import { roundJobs, unitsPerSlice } from './round-jobs.js';
import { jobEvents, roundEvent } from './round-telemetry.js';
import { prepareRun, type PrepareOptions, type PreparedRun } from './run-setup.js';
import { publishWeights } from './weights-publish.js';
import { resultReads } from './whole-result-reads.js';

// The coordinator's round loop (docs/design.md "Rounds", "Failure"): publish the
// round's weights, hand its slices to the executor, fold the accepted results into the
// sum in job-id order as they arrive, each range of the vector by its own reducer thread
// (ordered-fold.ts, range-reducers.ts), take the optimizer step,
// checkpoint, evaluate, log. Rounds are numbered 1..R; round r reads weights/<r-1> and
// produces weights/<r>.

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
  const runStore = new RunStore(store, run);
  const keys = runStore.keys;
  const table = paramTableOf(ctx.model);
  const P = table.size;
  const units = sliceUnits(ctx.manifest, 'train', cfg.train.sliceSamples);
  if (units.length === 0) throw new Error(`dataset ${ctx.manifest.name} has no train samples`);
  const schedule = lrSchedule(cfg);
  const R = cfg.train.rounds;
  const S = cfg.train.slices;
  // AdamW's moments and the weights in shared memory: the range reducers step them range by range.
  const opt = makeOptimizers(cfg, P, table.ranges(), true);
  // Ranges on hash-chunk boundaries of the run's transport format; one sum and mean for the whole run, zeroed each round.
  const plan = planRanges(P, S, { alignTo: FLAT_CHUNK_BYTES / (cfg.train.transport === 'f32' ? 4 : 2) });
  const readAhead = 2;
  const reducers = new RangeReducers(plan.ranges, P);
  try {
    return await trainWith(reducers);
  } finally {
    await reducers.close();
  }

  async function trainWith(reducers: RangeReducers): Promise<TrainResult> {
    log(
      cfg.train.reduce === 'workers'
        ? `aggregation: range reducer jobs on the workers (train.reduce workers); the step in ${plan.ranges.length} range(s) in ${plan.where}`
        : `aggregation: ${plan.ranges.length} range(s) in ${plan.where} (${plan.reason})`,
    );
    const state = await startState(runStore, prepared, table, opt, opts.resume === true, log);
    const { weights } = state;
    let { cursor } = state;
    const { startRound } = state;
    const metrics = new MetricsLog(runStore);
    if (opts.resume === true) await metrics.load(startRound - 1);

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
      ...(executor.lease !== undefined ? { lease: executor.lease } : {}),
    };
    const emit = (e: MetricEvent): void => {
      metrics.add(e);
      status.updated = e.time;
      opts.onEvent?.(e, status);
    };
    // metrics.jsonl is rewritten whole: at most about once a second while rounds
    // are short (and always at checkpoints, evaluations and the end).
    let lastFlush = 0;
    const flush = async (force = true, fence = true): Promise<void> => {
      if (!force && performance.now() - lastFlush < 1000) return;
      lastFlush = performance.now();
      // Only the run's lease holder writes (run-lease.ts).
      if (fence) await executor.fence();
      await metrics.flush();
      await runStore.writeStatus(status);
    };
    const deferred = new DeferredWork();
    const deleteLater = (spent: Spent): void => {
      if (spent.prefixes.length === 0 && spent.keys.length === 0) return;
      deferred.push(async () => {
        executor.assertOwner();
        for (const prefix of spent.prefixes) await runStore.deletePrefix(prefix);
        for (const k of spent.keys) await store.delete(k);
      });
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
        deferred.check();
        // Still the run's coordinator before publishing anything of this round: the lease's
        // renewal (a Redis round trip) runs while the weights are encoded and hashed, and the
        // write waits for it (publishWeights' `after`), so nothing is written without it.
        const fenced = executor.fence();
        fenced.catch(() => undefined);
        const roundStart = performance.now();
        const cpuSince = process.cpuUsage();
        const weightsKey = keys.weights(round - 1);
        // Jobs carry the payload hash (decodeFlat reports it on the worker side).
        const published = await publishWeights(store, weightsKey, run, round - 1, ctx.modelSha256, weights, cfg.train.transport, fenced);
        const publishMs = performance.now() - roundStart;
        const lr = schedule.lr(round - 1);
        const taken = takeSlices(units, cursor, S * unitsPerSlice(cfg), cfg.seed);
        const jobs = roundJobs({
          cfg,
          run,
          round,
          keys,
          configKey: prepared.configKey,
          manifestKey: prepared.manifestKey,
          weightsKey,
          weightsSha256: published.payloadSha256,
          lr,
          units: taken.slices,
          innerShas,
        });
        // Results are accepted on their header as they arrive and folded into the sum in
        // job-id order while the round runs, each read once; the executor keeps only headers.
        // train.reduce workers: the same, by reducer jobs on the workers once the slices are in (worker-reduce.ts).
        // Folded here, small results (the demo's) are read whole, one request each (whole-result-reads.ts).
        const reads = cfg.train.reduce === 'workers' ? store : resultReads(store, P, cfg.train.transport);
        const fold =
          cfg.train.reduce === 'workers'
            ? new WorkerReduce({
                store,
                executor,
                keys,
                run,
                round,
                params: P,
                transport: cfg.train.transport,
                mean: reducers.mean,
                ranges: cfg.train.reduceRanges,
                attempts: cfg.rounds.attempts,
                log,
              })
            : new OrderedFold({ store: reads, reducers, readAhead, round, log });
        const outcome = await executor.trainRound(
          round,
          jobs,
          { quorum: cfg.rounds.quorum, deadlineMs: cfg.rounds.deadlineSeconds * 1000, attempts: cfg.rounds.attempts },
          foldingCheck(reads, P, fold),
          { onComputing: () => deferred.start(), settle: (accepted, final) => fold.settle(accepted, final) },
        );
        // From the close (the executor's last look before it returned): what was still to fold, then the step.
        const tAgg = fold.stats.closedAt ?? performance.now();
        let mean: AccumulatedGradient;
        try {
          mean = await fold.finish(outcome.accepted.map((r) => r.job));
        } catch (err) {
          throw new RoundFailedError(`round ${round}: aggregation failed: ${(err as Error).message}`);
        }
        const tStep = performance.now();
        const closeFoldMs = tStep - tAgg;
        const gradNorm = await optimizerStep(cfg, opt, weights, mean.grads, lr, round, reducers);
        const stepMs = performance.now() - tStep;
        cursor = taken.cursor;
        // What each slot left this round (a worker that still holds it skips the download next round).
        innerShas = new Map(
          outcome.accepted.flatMap((r) => (r.reply.innerStateSha256 !== undefined ? [[r.job, r.reply.innerStateSha256] as const] : [])),
        );
        const aggregateMs = performance.now() - tAgg;
        const now = new Date().toISOString();
        for (const e of jobEvents(round, outcome, now)) emit(e);
        for (const r of outcome.rejected) emit({ type: 'rejected', time: now, round, job: r.job, reason: r.reason });
        samplesDone += mean.samples;
        lastLoss = mean.loss;
        const event = roundEvent(
          {
            round,
            slices: S,
            loss: mean.loss,
            lr,
            samples: mean.samples,
            gradNorm,
            wallMs: performance.now() - roundStart,
            aggregateMs,
            publishMs,
            publishedBytes: published.byteLength,
            fold: fold.stats,
            closeFoldMs,
            stepMs,
            plan: fold instanceof WorkerReduce ? (fold.plan ?? plan) : plan,
            ...(fold instanceof WorkerReduce ? { rangeJobs: fold.rangeJobs } : {}),
            readAhead,
            cpuSince,
          },
          outcome,
        );
        const backends = event.backends ?? [];
        if (backends.length > 1 && !warnedBackends) {
          warnedBackends = true;
          log(
            `round ${round}: workers on different backends (${backends.join(', ')}): results agree to ~1e-7, not bit for bit; runs are reproducible only on one backend`,
          );
        }
        emit(event);
        if (outcome.late.length > 0 || outcome.failed.length > 0) {
          log(
            `round ${round}: closed on quorum with ${outcome.accepted.length}/${S} slices; late ${outcome.late.join(', ') || '-'}; failed ${outcome.failed.map((f) => `${f.job} (${f.reason})`).join(', ') || '-'}`,
          );
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
          await deferred.settle();
          await executor.fence();
          await writeCheckpoint(runStore, round, table, weights, opt, cursor, ctx.modelSha256, cfg.checkpoint.keep);
          checkpointRounds.push(round);
        }
        // Deleted while the next round computes.
        deleteLater(spentAfterRound(cfg, keys, round, startRound, checkpointRounds));
        if (checkpointNow) {
          emit({ type: 'checkpoint', time: new Date().toISOString(), round, key: keys.checkpoint(round, 'state.safetensors') });
        }
        if (last || (cfg.eval.every > 0 && round % cfg.eval.every === 0)) {
          status.state = 'evaluating';
          await deferred.settle();
          await flush();
          const evalWeights = await publishWeights(store, keys.weights(round), run, round, ctx.modelSha256, weights, cfg.train.transport);
          for (const e of await evaluate(prepared, executor, store, round, evalWeights.payloadSha256, log)) {
            evals.push(e);
            emit(e);
          }
          deleteLater(spentAfterEvaluation(cfg, keys, round));
          status.state = 'running';
        }
        if (checkpointNow)
          await flush(); // a checkpoint's rounds are always in metrics.jsonl
        else deferred.push(() => flush(false));
        if (stopping && !last) {
          await deferred.settle();
          status.state = 'stopped';
          emit({
            type: 'run-end',
            time: new Date().toISOString(),
            round,
            state: 'stopped',
            message: 'stopped on request; continue with --resume',
          });
          await flush();
          return { run, state: 'stopped', round, weights, loss: lastLoss, evals, prepared };
        }
      }
    } catch (err) {
      await deferred.settle().catch(() => undefined);
      // Another coordinator owns the run now: it writes, this one only stops.
      if (err instanceof LeaseLostError || err instanceof LeaseHeldError) throw err;
      try {
        executor.assertOwner();
      } catch (lost) {
        throw new Error(`${(err as Error).message} (${(lost as Error).message})`, { cause: err });
      }
      const from = checkpointRounds.at(-1);
      const resumeHint =
        from !== undefined ? `--resume continues from the checkpoint of round ${from}` : '--resume starts the run over (no checkpoint yet)';
      const message =
        err instanceof RoundFailedError
          ? `${err.message}. Nothing of round ${round} reached the weights; fix the cause, then ${resumeHint}`
          : `${(err as Error).message}; ${resumeHint}`;
      status.state = 'failed';
      status.message = message;
      emit({ type: 'run-end', time: new Date().toISOString(), round, state: 'failed', message });
      // No lease round trip here (past a Redis outage it cannot answer); the lease is not known lost (checked above).
      await flush(true, false).catch((e: unknown) => log(`could not record the failure in ${keys.status}: ${(e as Error).message}`));
      throw new Error(message, { cause: err });
    }
    await deferred.settle();
    status.state = 'done';
    emit({ type: 'run-end', time: new Date().toISOString(), round: R, state: 'done' });
    await flush();
    return { run, state: 'done', round: R, weights, loss: lastLoss, evals, prepared };
  }
}
