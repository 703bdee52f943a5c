import { availableParallelism } from 'node:os';

// Sharded reduction (docs/design.md "Aggregation"): the flat parameter vector is cut into
// R ranges, each folded by its own reducer thread in job-id order. R comes from the work
// of a round (N results of P values) and the cores there are: a thread costs a few ms to
// start and a message per chunk, worth it only when a round's results are large; more
// threads than cores only take turns.

export interface ParamRange {
  /** First element. */
  from: number;
  /** One past the last element. */
  to: number;
}

export interface RangePlan {
  ranges: ParamRange[];
  /** Where the ranges are reduced (reported in the round event). */
  where: 'coordinator-threads';
  /** Why R is what it is, for logs and the round event. */
  reason: string;
}

/** Below this many values per round (N x P), one range: 64 MiB of float32 folds in about 0.1 s on one core. */
export const SHARD_MIN_VALUES = 16 * 2 ** 20;
/** At most this many ranges, whatever the cores (memory bandwidth is shared). */
export const MAX_RANGES = 8;

/**
 * R ranges of `params` elements, boundaries on multiples of `alignTo` elements (one hash
 * chunk of a result, so no chunk is read by two reducers), as equal as that allows.
 */
export function planRanges(params: number, results: number, opts: { cores?: number; alignTo: number }): RangePlan {
  if (!Number.isSafeInteger(params) || params < 1) throw new Error(`planRanges: params must be a positive integer, got ${params}`);
  if (!Number.isSafeInteger(results) || results < 1) throw new Error(`planRanges: results must be a positive integer, got ${results}`);
  if (!Number.isSafeInteger(opts.alignTo) || opts.alignTo < 1)
    throw new Error(`planRanges: alignTo must be a positive integer, got ${opts.alignTo}`);
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
  const ranges: ParamRange[] = [];
  for (let i = 0; i < r; i++) {
    const from = Math.min(params, Math.round((chunks * i) / r) * opts.alignTo);
    const to = i === r - 1 ? params : Math.min(params, Math.round((chunks * (i + 1)) / r) * opts.alignTo);
    ranges.push({ from, to });
  }
  return { ranges, where: 'coordinator-threads', reason };
}
