import { FLAT_CHUNK_BYTES, type JobEvent, type RoundEvent } from '@atomizer/protocol';
import type { RoundOutcome } from './executor.js';
import type { FoldStats } from './ordered-fold.js';
import type { RangePlan } from '@atomizer/protocol';

// What a committed round tells the metrics log: one job event per accepted slice and
// the round event (timings, bytes, the aggregation, the coordinator's own usage).

export function jobEvents(round: number, outcome: RoundOutcome, time: string): JobEvent[] {
  return outcome.accepted.map((r) => ({
    type: 'job' as const,
    time,
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
  }));
}

export interface RoundFigures {
  round: number;
  slices: number;
  loss: number;
  lr: number;
  samples: number;
  gradNorm: number;
  wallMs: number;
  aggregateMs: number;
  publishMs: number;
  publishedBytes: number;
  fold: FoldStats;
  /** From the close to the mean: the folds still pending then, and the mean. */
  closeFoldMs: number;
  /** Norm, clipping, the optimizer step and the finiteness check of the weights. */
  stepMs: number;
  plan: RangePlan;
  /** train.reduce workers: the range reducer jobs' figures, summed. */
  rangeJobs?: { jobs: number; bytesIn: number; readMs: number; foldMs: number; uploadMs: number };
  /** Chunk reads in flight per range, at most. */
  readAhead: number;
  cpuSince: NodeJS.CpuUsage;
}

/** This process's CPU since `since` and its memory now and at its peak. */
export function coordinatorUsage(since: NodeJS.CpuUsage): { cpuMs: number; rssMB: number; peakRssMB: number } {
  const cpu = process.cpuUsage(since);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMB: process.memoryUsage.rss() / 2 ** 20,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

export function roundEvent(f: RoundFigures, outcome: RoundOutcome): RoundEvent {
  const acc = outcome.accepted;
  // The slowest worker's compute: per worker, the sum over its slices of batch building + compute.
  const perWorker = new Map<string, number>();
  for (const r of acc) perWorker.set(r.reply.worker, (perWorker.get(r.reply.worker) ?? 0) + r.reply.batchMs + r.reply.computeMs);
  const slowest = Math.max(0, ...perWorker.values());
  return {
    type: 'round',
    time: new Date().toISOString(),
    round: f.round,
    loss: f.loss,
    lr: f.lr,
    samples: f.samples,
    atoms: acc.reduce((n, r) => n + r.meta.atoms, 0),
    wallMs: f.wallMs,
    slowestComputeMs: slowest,
    overheadMs: Math.max(0, f.wallMs - slowest),
    aggregateMs: f.aggregateMs,
    aggregation: {
      method: 'ordered-ranges',
      foldMs: f.fold.foldMs,
      rereads: f.fold.rereads,
      heldPeakMB: f.fold.peakHeldBytes / 2 ** 20,
      windowMB: (f.plan.ranges.length * f.readAhead * FLAT_CHUNK_BYTES) / 2 ** 20,
      // One result's payload is read at a time (its turn), by every range at once; header checks are a few KB each.
      checksAtOnce: 1,
      ranges: f.plan.ranges.length,
      where: f.plan.where,
      plan: f.plan.reason,
      rebuilds: f.fold.rebuilds,
      reducerRestarts: f.fold.reducerRestarts,
      bytesRead: f.fold.bytesRead,
      closeFoldMs: f.closeFoldMs,
      stepMs: f.stepMs,
      ...(f.rangeJobs !== undefined ? { rangeJobs: f.rangeJobs } : {}),
    },
    publishMs: f.publishMs,
    coordinator: coordinatorUsage(f.cpuSince),
    queuedMs: Math.max(0, ...acc.map((r) => r.timing?.queuedMs ?? 0)),
    detectedMs: Math.max(0, ...acc.map((r) => r.timing?.detectedMs ?? 0)),
    samplesPerSecond: f.samples / (f.wallMs / 1000),
    bytesMoved: acc.reduce((n, r) => n + r.reply.bytesIn + r.reply.bytesOut, 0) + f.publishedBytes,
    received: acc.length,
    slices: f.slices,
    late: outcome.late,
    failed: outcome.failed.map((x) => x.job),
    rejected: outcome.rejected,
    gradNorm: f.gradNorm,
    workers: [...new Set(acc.map((r) => r.reply.worker))].sort(),
    backends: [...new Set(acc.map((r) => r.reply.backend))].sort(),
  };
}
