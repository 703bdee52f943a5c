import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Loads the N-API addon built at install time (scripts/build-addon.mjs,
// build/Release/atomizer_native.node). Never throws: an unusable addon is a
// reason string, which the model's backend selection logs before falling back
// to plain wasm.

/** What the C addon exports (native/atomizer_native.c documents each call). Offsets are bytes into `heap`. */
export interface NativeAddon {
  gemm(
    heap: Uint8Array,
    aOff: number,
    bOff: number,
    cOff: number,
    batch: number,
    aStride: number,
    bStride: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
  ): void;
  transpose(heap: Uint8Array, xOff: number, yOff: number, batch: number, rows: number, cols: number): void;
  permuteRows(heap: Uint8Array, xOff: number, yOff: number, inner: number, rank: number, ...dimsThenStrides: number[]): void;
  reduce(heap: Uint8Array, xOff: number, yOff: number, outer: number, red: number, inner: number, op: number): void;
  binary(heap: Uint8Array, op: number, aOff: number, bOff: number, yOff: number, ...dimsThenStrides: number[]): void;
  unary(heap: Uint8Array, op: number, xOff: number, yOff: number, n: number): void;
  layerNorm(
    heap: Uint8Array,
    xOff: number,
    gOff: number,
    bOff: number,
    yOff: number,
    xhatOff: number,
    rOff: number,
    rows: number,
    cols: number,
    epsBits: number,
  ): void;
  layerNormGrad(
    heap: Uint8Array,
    dyOff: number,
    xhatOff: number,
    rOff: number,
    gOff: number,
    dxOff: number,
    dgOff: number,
    dbOff: number,
    rows: number,
    cols: number,
  ): void;
  gegluGate(heap: Uint8Array, xOff: number, bOff: number, yOff: number, cdfOff: number, rows: number, half: number): void;
  gegluGateGrad(
    heap: Uint8Array,
    dyOff: number,
    xOff: number,
    bOff: number,
    cdfOff: number,
    dxOff: number,
    dbOff: number,
    rows: number,
    half: number,
  ): void;
  /** One Adam step on [from, to) of the four arrays (the bits of the model's applyAdamRange). */
  adam(
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
    from: number,
    to: number,
    beta1: number,
    beta2: number,
    eps: number,
    stepSize: number,
    bc2Sqrt: number,
    l2: number,
    keep: number,
  ): void;
  /** init + the sum of x[i]^2 over [from, to), in float64 in index order (the bits of the model's globalNorm loop). */
  sumSquares(x: Float32Array, from: number, to: number, init: number): number;
  /** Copies n floats at srcOff of the heap to dst[dstIndex..] and returns init + their sum of squares (sumSquares' order). */
  readSquares(heap: Uint8Array, srcOff: number, dst: Float32Array, dstIndex: number, n: number, init: number): number;
  setThreads(n: number): void;
  info(): { config: string; corename: string; threads: number };
}

/**
 * A loaded addon; `build` is the first 12 hex digits of the binary's sha256, logged with
 * the backend so workers running different builds (whose results differ in the last
 * bits) can be told apart.
 */
export type AddonLoad = { ok: true; addon: NativeAddon; path: string; build: string } | { ok: false; reason: string };

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the addon is looked for: ATOMIZER_NATIVE_ADDON, else the node-gyp output of this package. */
export function addonPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.ATOMIZER_NATIVE_ADDON;
  return override !== undefined && override !== '' ? resolve(override) : join(packageRoot, 'build', 'Release', 'atomizer_native.node');
}

/** True when ATOMIZER_NATIVE is set to 0/false/off (the A/B switch for tests and benchmarks). */
export function nativeDisabledByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.ATOMIZER_NATIVE?.trim().toLowerCase();
  return v === '0' || v === 'false' || v === 'off' || v === 'no';
}

let cached: { path: string; load: AddonLoad } | undefined;

/** Loads the addon once per path; resolves to the addon or to the reason it is unusable. */
export function loadAddon(env: NodeJS.ProcessEnv = process.env): AddonLoad {
  if (nativeDisabledByEnv(env)) return { ok: false, reason: `disabled by ATOMIZER_NATIVE=${env.ATOMIZER_NATIVE ?? ''}` };
  const path = addonPath(env);
  if (cached?.path === path) return cached.load;
  let load: AddonLoad;
  if (!existsSync(path)) {
    const marker = join(packageRoot, 'build', 'unavailable.txt');
    const why = path === addonPath({}) && existsSync(marker) ? readFileSync(marker, 'utf8').trim() : `no addon at ${path}`;
    load = { ok: false, reason: `${why}; to build it: apt-get install libopenblas-dev && npm rebuild @atomizer/wasm-native` };
  } else {
    try {
      const build = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
      const addon = createRequire(import.meta.url)(path) as NativeAddon;
      load = { ok: true, addon, path, build };
    } catch (err) {
      const msg = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
      load = { ok: false, reason: `the addon at ${path} failed to load: ${msg}` };
    }
  }
  cached = { path, load };
  return load;
}
