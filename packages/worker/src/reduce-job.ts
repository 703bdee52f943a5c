import { performance } from 'node:perf_hooks';
import {
  SCRATCH,
  ReducePlanSchema,
  chunkSpans,
  chunkValues,
  encodeFlat,
  float16Table,
  foldValues,
  isNotFoundError,
  meanOfSum,
  readFlatHeader,
  sha256Hex,
  type JobReply,
  type RangeResultMeta,
  type ReduceJob,
  type ReducePlan,
} from '@atomizer/protocol';
import type { ComputeOptions, JobOutput } from './compute.js';
import { PermanentJobError } from './job-errors.js';

// A range reducer job (train.reduce: workers; docs/design.md "Aggregation"): read the
// round's reduce plan (checked against the sha256 the job carries), then, result after
// result in job-id order, read the hash chunks that hold the job's range [from, to) by
// ranged GETs (never the rest of a result), check each chunk's sha256 against the plan and
// every value's finiteness, and fold them into the range's float64 sum with the arithmetic
// the coordinator's reducer threads use (protocol's range-fold.ts). The range's mean
// (float32, the sum over the plan's sample total) is written to the job's resultKey; the
// reply carries its payload hash for the coordinator's check. A result found bad is named
// in the reply (`refused`): the coordinator refuses it and retries its slice. Store
// trouble throws: BullMQ retries the job.

/** Run one reduce job against the store. */
export async function reduceJob(job: ReduceJob, opts: ComputeOptions): Promise<JobOutput> {
  const { store } = opts;
  const planBytes = await store.get(job.planKey);
  const got = sha256Hex(planBytes);
  if (got !== job.planSha256) {
    throw new Error(
      `${job.planKey}: sha256 ${got.slice(0, 12)}…, the reduce job names ${job.planSha256.slice(0, 12)}… (changed in the store)`,
    );
  }
  const plan = parsePlan(planBytes, job);
  const from = job.from;
  const to = job.to;
  const sum = new Float64Array(to - from);
  let bytesIn = planBytes.byteLength;
  let readMs = 0;
  let foldMs = 0;
  let scratch = new Float32Array(0);
  let f16: Float32Array | null = null;
  const refuse = (r: { job: number }, reason: string): JobOutput => ({
    reply: replyOf(
      job,
      plan,
      opts,
      { fetchMs: readMs, computeMs: foldMs, uploadMs: 0, bytesIn, bytesOut: 0 },
      { refused: { job: r.job, reason } },
    ),
  });
  // Every chunk to read, in job-id order; the next one is read while this one is hashed and folded.
  const tasks = plan.results.flatMap((r) =>
    chunkSpans(
      {
        fmt: r.fmt,
        length: r.length,
        payloadOffset: r.payloadOffset,
        payloadEnd: r.payloadEnd,
        chunks: { bytes: r.chunkBytes, sha256: r.chunkSha256 },
      },
      from,
      to,
    ).map((span) => ({ r, span })),
  );
  // Two buffers, one being read, one being folded (a store that reads in place fills them; S3 returns bytes of its own).
  const buffers = [new ArrayBuffer(0), new ArrayBuffer(0)];
  const read = async (i: number): Promise<Uint8Array | Error> => {
    const { r, span } = tasks[i]!;
    const n = span.end - span.start;
    if (buffers[i % 2]!.byteLength < n) buffers[i % 2] = new ArrayBuffer(n);
    const t = performance.now();
    try {
      const data = await store.getRange(r.key, span.start, span.end, new Uint8Array(buffers[i % 2]!, 0, n));
      readMs += performance.now() - t;
      bytesIn += n;
      return data;
    } catch (err) {
      if (isNotFoundError(err)) return new Error(`${r.key}: gone from the store before its range ${from}-${to} was reduced`);
      throw err;
    }
  };
  let next = tasks.length > 0 ? read(0) : undefined;
  for (let i = 0; i < tasks.length; i++) {
    const { r, span } = tasks[i]!;
    const data = await next!;
    next = i + 1 < tasks.length ? read(i + 1) : undefined;
    next?.catch(() => undefined); // awaited at its turn; no unhandled rejection meanwhile
    if (data instanceof Error) return refuse(r, data.message);
    const n = data.byteLength;
    const t1 = performance.now();
    const sha = sha256Hex(data);
    const want = r.chunkSha256[span.chunk];
    if (sha !== want)
      return refuse(
        r,
        `${r.key} chunk ${span.chunk} (bytes ${span.start}-${span.end}) has sha256 ${sha}, the header says ${want} (changed or corrupted in the store)`,
      );
    // The values are read in place, 4-byte aligned: bytes a store handed at another offset are copied there first.
    const buffer = buffers[i % 2]!;
    if (data.buffer !== buffer || data.byteOffset !== 0) new Uint8Array(buffer, 0, n).set(data);
    if (r.fmt !== 'f32' && scratch.length < n >> 1) scratch = new Float32Array(n >> 1);
    if (r.fmt === 'f16' && f16 === null) f16 = float16Table();
    const bad = foldValues(sum, from, to, chunkValues(buffer, n, r.fmt, scratch, f16), span.first, r.length, r.samples, r.key);
    foldMs += performance.now() - t1;
    if (bad !== undefined) return refuse(r, bad);
  }
  const mean = new Float32Array(to - from);
  meanOfSum(sum, plan.total, mean);
  const meta: RangeResultMeta = {
    kind: 'range-result',
    run: job.run,
    round: job.round,
    range: job.range,
    from,
    to,
    planSha256: job.planSha256,
    results: plan.results.length,
    worker: opts.worker,
  };
  const body = encodeFlat(meta, { mean });
  const t2 = performance.now();
  await store.put(job.resultKey, body, SCRATCH);
  const uploadMs = performance.now() - t2;
  const payloadSha256 = readFlatHeader(body, job.resultKey).payloadSha256;
  return {
    reply: replyOf(
      job,
      plan,
      opts,
      { fetchMs: readMs, computeMs: foldMs, uploadMs, bytesIn, bytesOut: body.byteLength },
      { payloadSha256 },
    ),
  };
}

function parsePlan(bytes: Uint8Array, job: ReduceJob): ReducePlan {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new PermanentJobError(`${job.planKey}: not JSON (${(err as Error).message})`);
  }
  const p = ReducePlanSchema.safeParse(raw);
  if (!p.success)
    throw new PermanentJobError(
      `${job.planKey}: malformed reduce plan: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const plan = p.data;
  if (plan.run !== job.run || plan.round !== job.round)
    throw new PermanentJobError(
      `${job.planKey}: a plan for run ${plan.run} round ${plan.round}, the job is for run ${job.run} round ${job.round}`,
    );
  if (job.to > plan.params) throw new PermanentJobError(`reduce job range ${job.from}-${job.to} is past the plan's ${plan.params} values`);
  if (plan.results.some((r, i) => r.length !== plan.params || (i > 0 && r.job <= plan.results[i - 1]!.job)))
    throw new PermanentJobError(`${job.planKey}: results not in job-id order or not of ${plan.params} values`);
  return plan;
}

/** The reply: the range's figures (read and fold times, bytes in and out), and its output's hash or the result it refused. */
function replyOf(
  job: ReduceJob,
  plan: ReducePlan,
  opts: ComputeOptions,
  f: Pick<JobReply, 'fetchMs' | 'computeMs' | 'uploadMs' | 'bytesIn' | 'bytesOut'>,
  outcome: Pick<JobReply, 'payloadSha256' | 'refused'>,
): JobReply {
  // A reducer computes no loss and reads no atoms; its samples are the plan's total.
  return {
    resultKey: job.resultKey,
    run: job.run,
    round: job.round,
    job: `reduce-${job.range}`,
    samples: plan.total,
    loss: 0,
    atoms: 0,
    batchMs: 0,
    ...f,
    ...outcome,
    backend: opts.backend,
    worker: opts.worker,
  };
}
