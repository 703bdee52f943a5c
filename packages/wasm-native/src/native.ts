import { loadAddon, type NativeAddon } from './addon.js';
import {
  FUSED_KERNELS,
  NATIVE_KERNELS,
  registerNativeKernels,
  type FusedKernelName,
  type InstalledKernels,
  type NativeKernelName,
} from './kernels.js';

export interface NativeOptions {
  /** OpenBLAS threads for this process; default ATOMIZER_NATIVE_THREADS, else 1 (one worker per core). */
  threads?: number;
  /** Limit the kernels (benchmarks enable them one group at a time); default all, fused ones included. */
  kernels?: readonly (NativeKernelName | FusedKernelName)[];
  /** Environment to read the switches from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

export type NativeStatus =
  | {
      enabled: true;
      /** One line for the backend log, e.g. "native kernels: on (OpenBLAS 0.3.21, Haswell, 1 thread, 20 kernels, build 3f2a9c1e07d4)". */
      detail: string;
      /** sha256 prefix of the addon binary (see AddonLoad). */
      build: string;
      blas: { config: string; corename: string; threads: number };
      kernels: (NativeKernelName | FusedKernelName)[];
    }
  | { enabled: false; /** Why not, e.g. "disabled by ATOMIZER_NATIVE=0". */ reason: string; detail: string };

let installed: { status: NativeStatus & { enabled: true }; handle: InstalledKernels; addon: NativeAddon } | undefined;

function threadCount(opts: NativeOptions, env: NodeJS.ProcessEnv): number {
  const raw =
    opts.threads ??
    (env.ATOMIZER_NATIVE_THREADS !== undefined && env.ATOMIZER_NATIVE_THREADS !== '' ? Number(env.ATOMIZER_NATIVE_THREADS) : 1);
  if (!Number.isInteger(raw) || raw < 1) {
    throw new Error(
      `wasm-native: threads (option or ATOMIZER_NATIVE_THREADS) must be a positive integer, got '${String(opts.threads ?? env.ATOMIZER_NATIVE_THREADS)}'`,
    );
  }
  return raw;
}

function detailOf(blas: { config: string; corename: string; threads: number }, kernels: number, build: string): string {
  const version = blas.config.split(' ').slice(0, 2).join(' ');
  return `native kernels: on (${version}, ${blas.corename}, ${blas.threads} thread${blas.threads === 1 ? '' : 's'}, ${kernels} kernels, build ${build})`;
}

/**
 * Replaces the wasm backend's hot kernels with the native ones when the addon is
 * usable; otherwise leaves the backend as it is and says why. Idempotent: a second
 * call keeps the installed kernels and only applies a different thread count (call
 * disableNativeKernels() first to change the kernel set).
 * Call after @tensorflow/tfjs-backend-wasm is imported.
 */
export function enableNativeKernels(opts: NativeOptions = {}): NativeStatus {
  const env = opts.env ?? process.env;
  const threads = threadCount(opts, env);
  if (installed !== undefined) {
    if (installed.status.blas.threads !== threads) {
      installed.addon.setThreads(threads);
      const blas = installed.addon.info();
      installed.status = { ...installed.status, blas, detail: detailOf(blas, installed.handle.kernels.length, installed.status.build) };
    }
    return installed.status;
  }
  const load = loadAddon(env);
  if (!load.ok) return { enabled: false, reason: load.reason, detail: `native kernels: off (${load.reason})` };
  load.addon.setThreads(threads);
  const blas = load.addon.info();
  const handle = registerNativeKernels(load.addon, opts.kernels ?? [...NATIVE_KERNELS, ...FUSED_KERNELS]);
  installed = {
    status: { enabled: true, detail: detailOf(blas, handle.kernels.length, load.build), build: load.build, blas, kernels: handle.kernels },
    handle,
    addon: load.addon,
  };
  return installed.status;
}

/** Restores the stock wasm kernels (A/B runs in one process). */
export function disableNativeKernels(): void {
  installed?.handle.uninstall();
  installed = undefined;
}

/** The current state: enabled with its detail, or undefined when the stock kernels are in place. */
export function nativeKernelsEnabled(): boolean {
  return installed !== undefined;
}

/** Calls per kernel since enableNativeKernels(): served natively or by the stock wasm kernel (empty when disabled). */
export function nativeKernelCounts(): Record<string, { native: number; stock: number }> {
  return installed?.handle.counts() ?? {};
}
