import {
  EvalResultMetaSchema,
  JobReplySchema,
  TrainResultMetaSchema,
  decodeFlat,
  type EvalJob,
  type EvalResultMeta,
  type JobReply,
  type ObjectStore,
  type TrainJob,
  type TrainResultMeta,
} from '@atomizer/protocol';
import { decodeTransport } from '@atomizer/worker';

// The coordinator's checks on what a worker sends back. A result is accepted
// only if its reply and header name this run, round and job, it was computed
// from this round's weights (their payload hash), it has one value per
// parameter and every value is finite. Anything else is refused with a reason
// that is logged; the slice is then retried, and the weights never see it.

/** What the round keeps of an accepted train result: its header and reply, never its values. */
export interface AcceptedTrainResult {
  job: number;
  reply: JobReply;
  meta: TrainResultMeta;
  /** The payload hash the result had when it was checked: a re-read must find the same. */
  payloadSha256: string;
  /** Queue timings (ms) from BullMQ's job timestamps, when the executor has them. */
  timing?: { queuedMs: number; detectedMs: number };
}

/** An accepted train result and its values, as the check read them (handed to the fold, then dropped). */
export interface CheckedTrainResult {
  result: AcceptedTrainResult;
  update: Float32Array;
}

export interface AcceptedEvalResult {
  job: string;
  reply: JobReply;
  meta: EvalResultMeta;
  scores: Float32Array;
  labels: number[][];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i] as number)) return i;
  return -1;
}

export async function checkTrainResult(store: ObjectStore, job: TrainJob, rawReply: unknown, params: number): Promise<Checked<CheckedTrainResult>> {
  const r = JobReplySchema.safeParse(rawReply);
  if (!r.success) return { ok: false, reason: `reply malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  const reply = r.data;
  if (reply.run !== job.run || reply.round !== job.round || reply.job !== job.job) {
    return { ok: false, reason: `reply is for run ${reply.run} round ${reply.round} job ${reply.job}, expected round ${job.round} job ${job.job}` };
  }
  if (reply.resultKey !== job.resultKey) return { ok: false, reason: `reply names result ${reply.resultKey}, expected ${job.resultKey}` };
  let flat;
  try {
    // Views into the fetched bytes: one copy of a (possibly 241 MB) result in memory, not two.
    flat = decodeFlat(await store.get(job.resultKey), job.resultKey, { copy: false });
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const m = TrainResultMetaSchema.safeParse(flat.meta);
  if (!m.success) return { ok: false, reason: `${job.resultKey}: header malformed: ${m.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  const meta = m.data;
  if (meta.run !== job.run || meta.round !== job.round || meta.job !== job.job) {
    return { ok: false, reason: `${job.resultKey}: result is for run ${meta.run} round ${meta.round} job ${meta.job}, expected round ${job.round} job ${job.job} (wrong round)` };
  }
  if (meta.weightsSha256 !== job.weightsSha256) {
    return { ok: false, reason: `${job.resultKey}: computed from weights ${meta.weightsSha256.slice(0, 12)}…, not this round's ${job.weightsSha256.slice(0, 12)}…` };
  }
  if (meta.mode !== job.mode) return { ok: false, reason: `${job.resultKey}: a ${meta.mode} result for a ${job.mode} job` };
  let update: Float32Array;
  try {
    update = decodeTransport(flat.arrays.update, meta.transport, params, job.resultKey);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const bad = firstNonFinite(update);
  if (bad >= 0) return { ok: false, reason: `${job.resultKey}: value ${bad} is ${update[bad]} (NaN/Inf gradient refused)` };
  if (!Number.isFinite(meta.loss)) return { ok: false, reason: `${job.resultKey}: loss is ${meta.loss}` };
  if (meta.samples !== reply.samples) return { ok: false, reason: `${job.resultKey}: header says ${meta.samples} samples, reply ${reply.samples}` };
  return { ok: true, value: { result: { job: job.job, reply, meta, payloadSha256: flat.payloadSha256 }, update } };
}

/**
 * The values of a result accepted earlier, read again from the store (the fold let them go
 * to bound its memory). Refused unless the object still has the payload hash it was
 * accepted with: nothing that changed after its check reaches the sum.
 */
export async function rereadTrainUpdate(store: ObjectStore, key: string, accepted: AcceptedTrainResult, params: number): Promise<Float32Array> {
  const flat = decodeFlat(await store.get(key), key, { copy: false });
  if (flat.payloadSha256 !== accepted.payloadSha256) {
    throw new Error(`${key}: changed in the store after it was accepted (payload ${flat.payloadSha256.slice(0, 12)}…, accepted ${accepted.payloadSha256.slice(0, 12)}…)`);
  }
  // Same payload, so the same values in the format the header named when they were checked.
  return decodeTransport(flat.arrays.update, accepted.meta.transport, params, key);
}

export async function checkEvalResult(store: ObjectStore, job: EvalJob, rawReply: unknown, classes: number): Promise<Checked<AcceptedEvalResult>> {
  const r = JobReplySchema.safeParse(rawReply);
  if (!r.success) return { ok: false, reason: `reply malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  let flat;
  try {
    flat = decodeFlat(await store.get(job.resultKey), job.resultKey);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const m = EvalResultMetaSchema.safeParse(flat.meta);
  if (!m.success) return { ok: false, reason: `${job.resultKey}: header malformed` };
  const meta = m.data;
  if (meta.round !== job.round || meta.job !== job.job || meta.weightsSha256 !== job.weightsSha256) {
    return { ok: false, reason: `${job.resultKey}: result is for round ${meta.round} job ${meta.job}, expected round ${job.round} job ${job.job}` };
  }
  const scores = flat.arrays.scores;
  const labels = flat.arrays.labels;
  const offsets = flat.arrays.labelOffsets;
  if (!(scores instanceof Float32Array) || !(labels instanceof Int32Array) || !(offsets instanceof Int32Array)) {
    return { ok: false, reason: `${job.resultKey}: missing scores/labels arrays` };
  }
  if (scores.length !== meta.samples * classes || offsets.length !== meta.samples + 1) {
    return { ok: false, reason: `${job.resultKey}: ${scores.length} scores for ${meta.samples} samples x ${classes} classes` };
  }
  if (firstNonFinite(scores) >= 0) return { ok: false, reason: `${job.resultKey}: non-finite scores` };
  const rows: number[][] = [];
  for (let i = 0; i < meta.samples; i++) rows.push(Array.from(labels.subarray(offsets[i] as number, offsets[i + 1] as number)));
  return { ok: true, value: { job: job.job, reply: r.data, meta, scores, labels: rows } };
}
