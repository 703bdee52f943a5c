import { availableParallelism } from 'node:os';

// Sharded reduction (docs/design.md "Aggregation"): the flat parameter vector is cut into
// R ranges, each folded in job-id order, by a reducer thread of the coordinator or, with
// `train.reduce: workers`, by a reducer job a worker runs. For threads, R comes from the
// work of a round (N results of P values) and the cores there are: a thread costs a few ms
// to start and a message per chunk, worth it only when a round's results are large; more
// threads than cores only take turns. For workers, R comes from N and the hash chunks of a
// result: each reducer job reads 1/R of every result over its own link, so one per result
// up to one per chunk (a range is never smaller than a chunk: no chunk read twice).

export interface ParamRange {
  /** First element. */
  from: number;
  /** One past the last element. */
  to: number;
}

export interface RangePlan {
  ranges: ParamRange[];
  /** Where the ranges are reduced (reported in the round event). */
  where: 'coordinator-threads' | 'workers';
  /** Why R is what it is, for logs and the round event. */
  reason: string;
}

/** Below this many values per round (N x P), one range: 64 MiB of float32 folds in about 0.1 s on one core. */
export const SHARD_MIN_VALUES = 16 * 2 ** 20;
/** At most this many ranges, whatever the cores (memory bandwidth is shared). */
export const MAX_RANGES = 8;
/** At most this many reducer jobs a round (train.reduce: workers). */
export const MAX_WORKER_RANGES = 256;

/**
 * R ranges of `params` elements, boundaries on multiples of `alignTo` elements (one hash
 * chunk of a result, so no chunk is read by two reducers), as equal as that allows.
 */
export function planRanges(params: number, results: number, opts: { cores?: number; alignTo: number }): RangePlan {
  checkPlanInputs(params, results, opts.alignTo);
  const cores = Math.max(1, opts.cores ?? availableParallelism());
  const chunks = Math.ceil(params / opts.alignTo);
  let r: number;
  let reason: string;
  if (params * results < SHARD_MIN_VALUES) {
    r = 1;
    reason = `${results} x ${params} values: under ${SHARD_MIN_VALUES}, one range`;
  } else {
    r = Math.min(cores, MAX_RANGES, chunks);
    reason = `${results} x ${params} values over ${cores} core(s), ${chunks} chunk(s): ${r} range(s)`;
  }
  return { ranges: cut(params, r, opts.alignTo), where: 'coordinator-threads', reason };
}

/**
 * The ranges of the reducer jobs workers run (train.reduce: workers): one per result, at
 * most one per hash chunk and MAX_WORKER_RANGES, on chunk boundaries. `force` (> 0,
 * train.reduceRanges) sets R itself; when it exceeds the chunks, ranges are cut at equal
 * element counts and two reducers may read (and check) the same chunk.
 */
export function planWorkerRanges(params: number, results: number, opts: { alignTo: number; force?: number }): RangePlan {
  checkPlanInputs(params, results, opts.alignTo);
  const chunks = Math.ceil(params / opts.alignTo);
  const force = opts.force ?? 0;
  if (force > 0) {
    const r = Math.min(force, params);
    const aligned = r <= chunks;
    return {
      ranges: cut(params, r, aligned ? opts.alignTo : 1),
      where: 'workers',
      reason: `${r} reducer job(s) as configured (train.reduceRanges)${aligned ? '' : ', more than the ' + chunks + ' chunk(s): cut inside chunks'}`,
    };
  }
  const r = Math.min(results, chunks, MAX_WORKER_RANGES);
  return {
    ranges: cut(params, r, opts.alignTo),
    where: 'workers',
    reason: `${results} result(s) of ${params} values in ${chunks} chunk(s): ${r} reducer job(s)`,
  };
}

function checkPlanInputs(params: number, results: number, alignTo: number): void {
  if (!Number.isSafeInteger(params) || params < 1) throw new Error(`planRanges: params must be a positive integer, got ${params}`);
  if (!Number.isSafeInteger(results) || results < 1) throw new Error(`planRanges: results must be a positive integer, got ${results}`);
  if (!Number.isSafeInteger(alignTo) || alignTo < 1) throw new Error(`planRanges: alignTo must be a positive integer, got ${alignTo}`);
}

/** `r` ranges covering [0, params), boundaries on multiples of `alignTo`, as equal as that allows. */
function cut(params: number, r: number, alignTo: number): ParamRange[] {
  const units = Math.ceil(params / alignTo);
  const ranges: ParamRange[] = [];
  for (let i = 0; i < r; i++) {
    const from = Math.min(params, Math.round((units * i) / r) * alignTo);
    const to = i === r - 1 ? params : Math.min(params, Math.round((units * (i + 1)) / r) * alignTo);
    ranges.push({ from, to });
  }
  return ranges;
}
