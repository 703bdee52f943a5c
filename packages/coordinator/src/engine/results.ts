import {
  EvalResultMetaSchema,
  JobReplySchema,
  TrainResultMetaSchema,
  decodeFlat,
  flatHeaderBytes,
  readFlatHeader,
  type EvalJob,
  type FlatHeader,
  type EvalResultMeta,
  type JobReply,
  type ObjectStore,
  type ResultLayout,
  type TrainJob,
  type TrainResultMeta,
} from '@atomizer/protocol';

// The coordinator's checks on what a worker sends back. A train result is accepted
// only if its reply and header name this run, round and job, it was computed from this
// round's weights (their payload hash), and its header declares one value per parameter
// in the run's transport format, hashed in chunks, in an object that long. Only the
// header is read here (a few KB; a small result is read whole once and both served from
// those bytes, whole-result-reads.ts); the payload is read once, at the result's turn in the
// fold (ordered-fold.ts), where each chunk's hash and every value's finiteness are
// checked before the round can commit. Anything else is refused with a reason that is
// logged; the slice is then retried, and the weights never see it.

export type { ResultLayout } from '@atomizer/protocol';

/** What the round keeps of an accepted train result: its header and reply, never its values. */
export interface AcceptedTrainResult {
  job: number;
  reply: JobReply;
  meta: TrainResultMeta;
  /** The payload hash the header declared when it was accepted. */
  payloadSha256: string;
  layout: ResultLayout;
  /** Queue timings (ms) from BullMQ's job timestamps, when the executor has them. */
  timing?: { queuedMs: number; detectedMs: number };
}

export interface AcceptedEvalResult {
  job: string;
  reply: JobReply;
  meta: EvalResultMeta;
  scores: Float32Array;
  labels: number[][];
}

/** GradientAccumulator's totals of a round's accepted results, added in job-id order: the samples (the mean's divisor) and the sample-weighted loss (NaN when one is unknown). */
export function sampleTotals(metas: readonly Pick<TrainResultMeta, 'samples' | 'loss'>[]): { total: number; loss: number } {
  let total = 0;
  let lossSum = 0;
  let lossKnown = true;
  for (const meta of metas) {
    total += meta.samples;
    if (!Number.isFinite(meta.loss)) lossKnown = false;
    else lossSum += meta.samples * meta.loss;
  }
  return { total, loss: lossKnown ? lossSum / total : Number.NaN };
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i] as number)) return i;
  return -1;
}

/** The header of a flat object and the object's size: two ranged reads (one when the header is under 64 KiB). */
export async function readHeaderOf(store: ObjectStore, key: string): Promise<{ header: FlatHeader; size: number }> {
  const info = await store.head(key);
  if (info === undefined) throw new Error(`${key}: not in the store`);
  const prefix = await store.getRange(key, 0, Math.min(info.size, 64 * 1024));
  const need = flatHeaderBytes(prefix, key);
  const bytes = need <= prefix.byteLength ? prefix : await store.getRange(key, 0, Math.min(info.size, need));
  return { header: readFlatHeader(bytes, key), size: info.size };
}

export async function checkTrainResult(
  store: ObjectStore,
  job: TrainJob,
  rawReply: unknown,
  params: number,
): Promise<Checked<AcceptedTrainResult>> {
  const r = JobReplySchema.safeParse(rawReply);
  if (!r.success)
    return { ok: false, reason: `reply malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  const reply = r.data;
  if (reply.run !== job.run || reply.round !== job.round || reply.job !== job.job) {
    return {
      ok: false,
      reason: `reply is for run ${reply.run} round ${reply.round} job ${reply.job}, expected round ${job.round} job ${job.job}`,
    };
  }
  if (reply.resultKey !== job.resultKey) return { ok: false, reason: `reply names result ${reply.resultKey}, expected ${job.resultKey}` };
  let header: FlatHeader;
  let size: number;
  try {
    ({ header, size } = await readHeaderOf(store, job.resultKey));
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const m = TrainResultMetaSchema.safeParse(header.meta);
  if (!m.success)
    return {
      ok: false,
      reason: `${job.resultKey}: header malformed: ${m.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    };
  const meta = m.data;
  if (meta.run !== job.run || meta.round !== job.round || meta.job !== job.job) {
    return {
      ok: false,
      reason: `${job.resultKey}: result is for run ${meta.run} round ${meta.round} job ${meta.job}, expected round ${job.round} job ${job.job} (wrong round)`,
    };
  }
  if (meta.weightsSha256 !== job.weightsSha256) {
    return {
      ok: false,
      reason: `${job.resultKey}: computed from weights ${meta.weightsSha256.slice(0, 12)}…, not this round's ${job.weightsSha256.slice(0, 12)}…`,
    };
  }
  if (meta.mode !== job.mode) return { ok: false, reason: `${job.resultKey}: a ${meta.mode} result for a ${job.mode} job` };
  const fmt = meta.transport ?? 'f32';
  const update = header.arrays[0];
  const dtype = fmt === 'f32' ? 'f32' : 'u16';
  if (update === undefined || update.name !== 'update' || update.dtype !== dtype || update.length !== params) {
    const got = update === undefined ? 'no array' : `${update.length} ${update.dtype} values named ${update.name}`;
    return { ok: false, reason: `${job.resultKey}: expected ${params} ${fmt} values (${dtype}) as its first array 'update', got ${got}` };
  }
  if (size < header.payloadEnd)
    return { ok: false, reason: `${job.resultKey}: ${size} bytes, its header describes ${header.payloadEnd}: truncated object` };
  if (!Number.isFinite(meta.loss)) return { ok: false, reason: `${job.resultKey}: loss is ${meta.loss}` };
  if (meta.samples !== reply.samples)
    return { ok: false, reason: `${job.resultKey}: header says ${meta.samples} samples, reply ${reply.samples}` };
  const layout: ResultLayout = {
    fmt,
    length: params,
    payloadOffset: header.payloadOffset,
    payloadEnd: header.payloadEnd,
    ...(header.chunks !== undefined ? { chunks: header.chunks } : {}),
  };
  return { ok: true, value: { job: job.job, reply, meta, payloadSha256: header.payloadSha256, layout } };
}

export async function checkEvalResult(
  store: ObjectStore,
  job: EvalJob,
  rawReply: unknown,
  classes: number,
): Promise<Checked<AcceptedEvalResult>> {
  const r = JobReplySchema.safeParse(rawReply);
  if (!r.success)
    return { ok: false, reason: `reply malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
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
    return {
      ok: false,
      reason: `${job.resultKey}: result is for round ${meta.round} job ${meta.job}, expected round ${job.round} job ${job.job}`,
    };
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
