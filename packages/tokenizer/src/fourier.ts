// Fourier features of docs/model.md section 2, as in the authors' code:
//
//   FF(u; F, fmax) = [ sin(0.75*pi*s_k*u) (k=1..F), cos(0.75*pi*s_k*u) (k=1..F), u ]
//   s_k = linspace(1, fmax/2, F)            (F = 1: s_1 = 1)
//
// Two implementations: `fourierFeatures` calls Math.sin/cos per frequency (the
// reference), `fourierFeaturesFast` uses the angle-addition recurrence that
// the arithmetic progression of s_k allows, so one feature costs two or four
// transcendental calls instead of 2F (the worker's hot loop, see tokens.ts).

/** Output buffers the encoders write into. */
export type FloatArray = Float32Array | Float64Array;

function checkFourierParams(numBands: number, maxFreq: number): void {
  if (!Number.isInteger(numBands) || numBands < 1) {
    throw new Error(`Fourier features: numBands (F) must be an integer >= 1, got ${numBands}`);
  }
  if (!(maxFreq > 0) || !Number.isFinite(maxFreq)) {
    throw new Error(`Fourier features: maxFreq (fmax) must be a positive number, got ${maxFreq}`);
  }
}

/** s_k = linspace(1, fmax/2, F); F = 1 gives [1]. */
export function fourierScales(numBands: number, maxFreq: number): Float64Array {
  checkFourierParams(numBands, maxFreq);
  const s = new Float64Array(numBands);
  if (numBands === 1) {
    s[0] = 1;
    return s;
  }
  const last = maxFreq / 2;
  for (let k = 0; k < numBands; k++) s[k] = 1 + ((last - 1) * k) / (numBands - 1);
  return s;
}

/** Dimension of FF(u; F, .): 2F + 1. */
export function fourierDim(numBands: number): number {
  return 2 * numBands + 1;
}

/** Reference FF(u; F, fmax), written to out[offset .. offset + 2F]. */
export function fourierFeatures(u: number, numBands: number, maxFreq: number, out: FloatArray, offset = 0): void {
  const s = fourierScales(numBands, maxFreq);
  const w = 0.75 * Math.PI;
  for (let k = 0; k < numBands; k++) {
    const a = w * (s[k] as number) * u;
    out[offset + k] = Math.sin(a);
    out[offset + numBands + k] = Math.cos(a);
  }
  out[offset + 2 * numBands] = u;
}

/**
 * Precomputed angular frequencies of one FF(.; F, fmax): omega_k = 0.75*pi*s_k
 * = first + k * step (k = 0..F-1).
 */
export interface FourierPlan {
  numBands: number;
  maxFreq: number;
  /** 0.75*pi*s_1. */
  first: number;
  /** 0.75*pi*(s_2 - s_1); 0 when F = 1. */
  step: number;
  /** True when step == first (then omega_k = (k+1)*first and one sin/cos pair suffices; the defaults F=8, fmax=16 are such). */
  harmonic: boolean;
}

export function fourierPlan(numBands: number, maxFreq: number): FourierPlan {
  const s = fourierScales(numBands, maxFreq);
  const w = 0.75 * Math.PI;
  const first = w * (s[0] as number);
  const step = numBands > 1 ? w * ((s[1] as number) - (s[0] as number)) : 0;
  return { numBands, maxFreq, first, step, harmonic: Math.abs(step - first) <= 1e-15 * first };
}

/**
 * FF(u) by the angle-addition recurrence: with theta_k = u*omega_k and
 * delta = u*step, sin(theta_{k+1}) = sin(theta_k)cos(delta) + cos(theta_k)sin(delta)
 * (and likewise for cos). In float64 the error after F steps stays ~1e-15,
 * far below float32 resolution (tested against `fourierFeatures`).
 */
export function fourierFeaturesFast(u: number, plan: FourierPlan, out: FloatArray, offset = 0): void {
  const F = plan.numBands;
  const t0 = u * plan.first;
  let sn = Math.sin(t0);
  let cs = Math.cos(t0);
  let sd: number;
  let cd: number;
  if (plan.harmonic) {
    sd = sn;
    cd = cs;
  } else {
    const d = u * plan.step;
    sd = Math.sin(d);
    cd = Math.cos(d);
  }
  out[offset] = sn;
  out[offset + F] = cs;
  for (let k = 1; k < F; k++) {
    const ns = sn * cd + cs * sd;
    cs = cs * cd - sn * sd;
    sn = ns;
    out[offset + k] = sn;
    out[offset + F + k] = cs;
  }
  out[offset + 2 * F] = u;
}
