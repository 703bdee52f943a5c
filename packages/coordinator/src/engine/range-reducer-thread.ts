// The code a range reducer thread runs (range-reducers.ts), as the source of a plain
// CommonJS script: it is started with `new Worker(source, { eval: true })`, so it runs the
// same under tsx, vitest and the built CLI, and imports nothing but Node's own modules.
//
// A thread owns the elements [from, to) of the round's float64 sum and of the mean (views
// into SharedArrayBuffers the coordinator also sees). It handles, in the order they come:
//   fold  one chunk of one result: check its sha256 against the header's, decode it
//         (f32, or bf16/f16 bit patterns), refuse a non-finite value, and add
//         w * value into the sum for the chunk's elements inside [from, to). The
//         arithmetic is GradientAccumulator.add's, element by element, so a sum built in
//         job-id order has the same bits (protocol's range-fold.ts, whose functions'
//         source is part of this script: the workers' reduce jobs run the same code).
//   zero  reset its part of the sum (a new round, or a rebuild after a refused result).
//   mean  mean[i] = sum[i] / total, rounded to float32 once (GradientAccumulator's mean).
//   adam  one AdamW step of its range of the weights from the (clipped) mean, with the
//         model's own applyAdamRange (its source text is part of this script), then the
//         finiteness check of that range of the new weights.
// Each request is answered with { id } or { id, bad: reason }; a fold's buffer goes back
// to the coordinator for the next chunk.

import { applyAdamRange } from '@atomizer/model';
import { chunkValues, float16Table, foldValues, meanOfSum } from '@atomizer/protocol';

export const RANGE_REDUCER_SOURCE =
  String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { from, to } = workerData;
const sum = new Float64Array(workerData.sum, from * 8, to - from);
const mean = new Float32Array(workerData.mean, from * 4, to - from);
let f16 = null;
let scratch = new Float32Array(0);
function fold(m) {
  const bytes = new Uint8Array(m.data, 0, m.byteLength);
  if (m.sha !== null) {
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== m.sha) return m.what + ' has sha256 ' + got + ', the header says ' + m.sha + ' (changed or corrupted in the store)';
  }
  if (m.fmt !== 'f32' && scratch.length < m.byteLength >> 1) scratch = new Float32Array(m.byteLength >> 1);
  if (m.fmt === 'f16' && f16 === null) f16 = float16Table();
  return foldValues(sum, from, to, chunkValues(m.data, m.byteLength, m.fmt, scratch, f16), m.first, m.end, m.w, m.key);
}
parentPort.on('message', (m) => {
  if (m.op === 'fold') {
    const bad = fold(m);
    parentPort.postMessage(bad === undefined ? { id: m.id, data: m.data } : { id: m.id, data: m.data, bad }, [m.data]);
  } else if (m.op === 'zero') {
    sum.fill(0);
    parentPort.postMessage({ id: m.id });
  } else if (m.op === 'mean') {
    meanOfSum(sum, m.total, mean);
    parentPort.postMessage({ id: m.id });
  } else if (m.op === 'adam') {
    const weights = new Float32Array(m.weights);
    applyAdamRange(m.step, weights, new Float32Array(workerData.mean), new Float32Array(m.m), new Float32Array(m.v), from, to);
    let bad = -1;
    for (let i = from; i < to; i++) {
      const x = weights[i];
      if (x - x !== 0) {
        bad = i;
        break;
      }
    }
    parentPort.postMessage({ id: m.id, nonFinite: bad });
  }
});
` + [applyAdamRange, float16Table, chunkValues, foldValues, meanOfSum].map((f) => f.toString()).join('\n');
