import { z } from 'zod';
import { TRANSPORT_FORMATS } from './run-config.js';

// Range reducers that the workers run (train.reduce: workers; docs/design.md
// "Aggregation"). Once a round's slices are in, the coordinator writes the round's reduce
// plan (the accepted results in job-id order: key, weight, layout and chunk hashes, the
// round's sample total) and enqueues one reduce job per range of the parameter vector. A
// reduce job reads its range of every result by ranged GETs, checks the chunks' hashes and
// every value's finiteness, folds them in job-id order in float64 and writes the range's
// float32 mean as a flat object whose header names the plan it came from. The coordinator
// reads the R outputs (P values in all), checks each against its reply (payload hash,
// size) and the plan, and takes the optimizer step.

const key = z.string().min(1).max(1024);
const sha = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest');
const count = z.number().int().nonnegative();

export const ReduceJobSchema = z
  .object({
    kind: z.literal('reduce'),
    run: z.string().min(1),
    round: count,
    /** The range's index in the plan, and its elements [from, to). */
    range: count,
    from: count,
    to: z.number().int().positive(),
    /** The round's reduce plan (ReducePlanSchema, JSON) and the sha256 of its bytes. */
    planKey: key,
    planSha256: sha,
    /** Where the range's mean goes. */
    resultKey: key,
  })
  .strict()
  .refine((j) => j.to > j.from, { message: 'to must be greater than from', path: ['to'] });
export type ReduceJob = z.infer<typeof ReduceJobSchema>;

/** One accepted result of the round, as the reducers read it. */
const PlannedResultSchema = z
  .object({
    job: count,
    key,
    /** The weight its values are added with (its samples). */
    samples: z.number().int().positive(),
    fmt: z.enum(TRANSPORT_FORMATS),
    length: z.number().int().positive(),
    payloadOffset: count,
    payloadEnd: count,
    chunkBytes: z.number().int().positive(),
    chunkSha256: z.array(sha).min(1),
  })
  .strict();

/** runs/<run>/results/<round>/reduce-g<gen>-plan.json: what a round's reduce jobs fold. */
export const ReducePlanSchema = z
  .object({
    kind: z.literal('reduce-plan'),
    run: z.string().min(1),
    round: count,
    /** Each close of the round that needed a reduce (a refused result reopens it) is a new generation. */
    generation: count,
    params: z.number().int().positive(),
    /** The samples of every accepted result, summed in job-id order: the mean's divisor. */
    total: z.number().int().positive(),
    /** In job-id order: the order of the additions. */
    results: z.array(PlannedResultSchema).min(1),
  })
  .strict();
export type ReducePlan = z.infer<typeof ReducePlanSchema>;

/** Header (flat-file meta) of a range output: arrays { mean } (to - from float32 values). */
export const RangeResultMetaSchema = z
  .object({
    kind: z.literal('range-result'),
    run: z.string(),
    round: count,
    range: count,
    from: count,
    to: z.number().int().positive(),
    planSha256: sha,
    /** Results folded (the plan's, all of them). */
    results: count,
    worker: z.string(),
  })
  .strict();
export type RangeResultMeta = z.infer<typeof RangeResultMetaSchema>;
