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
//         job-id order has the same bits.
//   zero  reset its part of the sum (a new round, or a rebuild after a refused result).
//   mean  mean[i] = sum[i] / total, rounded to float32 once (GradientAccumulator's mean).
//   adam  one AdamW step of its range of the weights from the (clipped) mean, with the
//         model's own applyAdamRange (its source text is part of this script), then the
//         finiteness check of that range of the new weights.
// Each request is answered with { id } or { id, bad: reason }; a fold's buffer goes back
// to the coordinator for the next chunk.

import { applyAdamRange } from '@atomizer/model';

export const RANGE_REDUCER_SOURCE =
  String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { from, to } = workerData;
const sum = new Float64Array(workerData.sum, from * 8, to - from);
const mean = new Float32Array(workerData.mean, from * 4, to - from);
let f16 = null;
function f16Table() {
  // model/src/half-float.ts float16BitsToFloat32, for every bit pattern.
  const out = new Float32Array(65536);
  const dst = new Uint32Array(out.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[h] = (sign !== 0 ? -1 : 1) * mant * 2 ** -24;
    else if (exp === 0x1f) dst[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    else dst[h] = (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  }
  return out;
}
let scratch = new Float32Array(0);
function valuesOf(m) {
  if (m.fmt === 'f32') return new Float32Array(m.data, 0, m.byteLength >> 2);
  const bits = new Uint16Array(m.data, 0, m.byteLength >> 1);
  if (scratch.length < bits.length) scratch = new Float32Array(bits.length);
  const out = scratch.subarray(0, bits.length);
  if (m.fmt === 'bf16') {
    const u = new Uint32Array(out.buffer, 0, bits.length);
    for (let i = 0; i < bits.length; i++) u[i] = (bits[i] << 16) >>> 0;
  } else {
    if (f16 === null) f16 = f16Table();
    for (let i = 0; i < bits.length; i++) out[i] = f16[bits[i]];
  }
  return out;
}
function fold(m) {
  const bytes = new Uint8Array(m.data, 0, m.byteLength);
  if (m.sha !== null) {
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== m.sha) return m.what + ' has sha256 ' + got + ', the header says ' + m.sha + ' (changed or corrupted in the store)';
  }
  const g = valuesOf(m);
  const lo = Math.max(from, m.first);
  const hi = Math.min(to, m.first + g.length, m.end);
  const w = m.w;
  const off = m.first;
  for (let i = lo; i < hi; i++) {
    const x = g[i - off];
    // NaN - NaN and Inf - Inf are NaN: refused before it is added.
    if (x - x !== 0) return m.key + ': value ' + i + ' is ' + x + ' (NaN/Inf gradient refused)';
    sum[i - from] = sum[i - from] + w * x;
  }
  return undefined;
}
parentPort.on('message', (m) => {
  if (m.op === 'fold') {
    const bad = fold(m);
    parentPort.postMessage(bad === undefined ? { id: m.id, data: m.data } : { id: m.id, data: m.data, bad }, [m.data]);
  } else if (m.op === 'zero') {
    sum.fill(0);
    parentPort.postMessage({ id: m.id });
  } else if (m.op === 'mean') {
    const t = m.total;
    for (let i = 0; i < sum.length; i++) mean[i] = sum[i] / t;
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
` + applyAdamRange.toString();
