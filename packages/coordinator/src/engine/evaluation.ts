import { evalSplits, runKeys, type EvalEvent, type EvalJob, type ObjectStore } from '@atomizer/protocol';
import { deriveSeed, modalityKey, seenTag, type Modality } from '@atomizer/tokenizer';
import { sliceUnits } from './data-plan.js';
import { evalScores } from './eval-metrics.js';
import type { Executor } from './executor.js';
import { checkEvalResult } from './results.js';
import type { PreparedRun } from './run-setup.js';

// A round's evaluation: every eval split x (the train modalities, tagged seen, and the
// split's own list), sliced like training, run by the executor, scored per modality.

type Log = (msg: string, fields?: Record<string, unknown>) => void;

/** Evaluation jobs for every eval split x (train modalities, tagged seen + the split's own list). */
export async function evaluate(
  prepared: PreparedRun,
  executor: Executor,
  store: ObjectStore,
  round: number,
  weightsSha256: string,
  log: Log,
): Promise<EvalEvent[]> {
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
    const base = {
      type: 'eval' as const,
      time: new Date().toISOString(),
      round,
      split: p.split,
      modality: p.modality.name,
      seen: p.seen,
      samples: labels.length,
      skipped,
      loss: labels.length > 0 ? lossSum / labels.length : 0,
    };
    if (labels.length === 0) {
      events.push(base);
      return;
    }
    events.push({ ...base, ...evalScores(ctx.model.task, scores, labels, classes) });
  });
  return events;
}
