import { accessSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from './tfjs.js';
import { setNativeHostLoops } from './native-host.js';
import { setNativeKernelsActive } from './native-kernels.js';
import { installWasmSliceKernels } from './wasm-slice.js';

// TensorFlow.js backend selection (docs/design.md "Backends"). tfjs-core with every
// op's gradient and the cpu backend come from tfjs.ts; the wasm backend is imported here
// when chosen.
//
// The native packages (@tensorflow/tfjs-node[-gpu]) are optionalDependencies:
// their install script downloads libtensorflow, which can fail or be refused
// (npm 11 asks for install-script approval). So they are imported dynamically
// and their absence falls back to wasm, then cpu; an explicit request for an
// unavailable one fails with the reason and the fix.

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendChoice;
  /** The tfjs backend name now active: 'tensorflow' (native, CPU or GPU), 'wasm' or 'cpu'. */
  name: string;
  /** Human-readable detail: GPU or not, SIMD, native kernels on or off and why, why an auto candidate was skipped. */
  detail: string;
  /** True when the wasm backend runs the native OpenBLAS kernels of @atomizer/wasm-native (logged as 'wasm+native'). */
  native: boolean;
}

export interface BackendOptions {
  /**
   * Native CPU kernels for the wasm backend (@atomizer/wasm-native, optional): used when
   * the addon was built, unless false here or ATOMIZER_NATIVE=0 in the environment.
   */
  native?: boolean;
  /** OpenBLAS threads of the native kernels; default ATOMIZER_NATIVE_THREADS, else 1 (one worker per core). */
  nativeThreads?: number;
}

export type BackendLogger = (message: string) => void;

const require = createRequire(import.meta.url);

const GPU_HELP =
  'npm install @tensorflow/tfjs-node-gpu needs Linux x64, an NVIDIA driver and CUDA 11.2 + cuDNN 8.1 on the host; ' +
  'with npm 11 approve its install script (npm install-scripts approve @tensorflow/tfjs-node-gpu && npm rebuild). See docs/gpu.md';
const NODE_HELP =
  'npm install @tensorflow/tfjs-node (downloads libtensorflow at install time; with npm 11 approve its install script: ' +
  'npm install-scripts approve @tensorflow/tfjs-node && npm rebuild). See docs/gpu.md';

function errorMessage(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}

/** Loads a native binding package; resolves to the reason it is unusable, or null when registered. */
async function loadNative(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): Promise<string | null> {
  try {
    require.resolve(pkg);
  } catch {
    return `${pkg} is not installed`;
  }
  try {
    // A variable specifier keeps TypeScript from requiring the optional package's types.
    const specifier: string = pkg;
    await import(specifier);
    return null;
  } catch (err) {
    return `${pkg} is installed but failed to load: ${errorMessage(err)}`;
  }
}

/** True if the native TF runtime sees a GPU (tfjs-node-gpu registers the same 'tensorflow' backend). */
function nativeSeesGpu(): boolean {
  const env = process.env.CUDA_VISIBLE_DEVICES;
  if (env !== undefined && (env.trim() === '' || env.trim() === '-1')) return false;
  try {
    // The driver exposes this file on Linux hosts with an NVIDIA GPU; a cheap check without nvidia-smi.
    accessSync('/proc/driver/nvidia/version');
    return true;
  } catch {
    return false;
  }
}

let wasmPathsSet = false;

/** Points the wasm backend at the package's own dist folder, as a file path (Node reads it with fs). */
async function configureWasm(): Promise<void> {
  if (wasmPathsSet) return;
  // Imported lazily so 'cpu' users never load the wasm glue; importing it registers the backend.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(join(dist, '/'));
  // SIMD on; threads off: the threaded build needs browser workers + SharedArrayBuffer
  // (Node has no cross-origin-isolated Worker for emscripten's pthreads here).
  tf.env().set('WASM_HAS_SIMD_SUPPORT', true);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  // Slicing kernels that do not copy the whole input out of the heap first (wasm-slice.ts).
  installWasmSliceKernels();
  wasmPathsSet = true;
}

async function activate(name: string): Promise<boolean> {
  if (tf.getBackend() === name) return true;
  const ok = await tf.setBackend(name);
  await tf.ready();
  return ok && tf.getBackend() === name;
}

async function tryGpu(): Promise<string | null> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `@tensorflow/tfjs-node-gpu supports Linux x64 only (this is ${process.platform}-${process.arch})`;
  }
  const why = await loadNative('@tensorflow/tfjs-node-gpu');
  if (why !== null) return why;
  if (!nativeSeesGpu()) return 'no NVIDIA GPU visible (no /proc/driver/nvidia/version, or CUDA_VISIBLE_DEVICES hides it)';
  if (!(await activate('tensorflow'))) return "the 'tensorflow' backend did not initialise";
  return null;
}

async function tryNode(): Promise<string | null> {
  const why = await loadNative('@tensorflow/tfjs-node');
  if (why !== null) return why;
  if (!(await activate('tensorflow'))) return "the 'tensorflow' backend did not initialise";
  return null;
}

async function tryWasm(): Promise<string | null> {
  try {
    await configureWasm();
    if (!(await activate('wasm'))) return 'the wasm backend did not initialise';
    return null;
  } catch (err) {
    return `wasm backend failed: ${errorMessage(err)}`;
  }
}

/**
 * Turns the native wasm kernels on (or off) after the wasm backend is active; returns
 * whether they are on and the detail to log ("native kernels: on (OpenBLAS ...)" or
 * "native kernels: off (<reason>)"). The package is imported dynamically: it is an
 * optional dependency, and its addon is optional too.
 */
async function wasmNative(opts: BackendOptions): Promise<{ native: boolean; detail: string }> {
  let mod: typeof import('@atomizer/wasm-native');
  try {
    mod = await import('@atomizer/wasm-native');
  } catch (err) {
    return { native: false, detail: `native kernels: off (@atomizer/wasm-native is not available: ${errorMessage(err)})` };
  }
  if (opts.native === false) {
    mod.disableNativeKernels();
    setNativeHostLoops({});
    return { native: false, detail: 'native kernels: off (disabled by the native: false option)' };
  }
  const status = mod.enableNativeKernels(opts.nativeThreads === undefined ? {} : { threads: opts.nativeThreads });
  // The host loops (native-host.ts) go with the kernels; an older addon without them keeps the JavaScript ones.
  const load = status.enabled ? mod.loadAddon() : undefined;
  const addon = load?.ok === true ? load.addon : undefined;
  setNativeHostLoops({
    adam: typeof addon?.adam === 'function' ? addon.adam.bind(addon) : undefined,
    sumSquares: typeof addon?.sumSquares === 'function' ? addon.sumSquares.bind(addon) : undefined,
    readSquares: typeof addon?.readSquares === 'function' ? addon.readSquares.bind(addon) : undefined,
  });
  return { native: status.enabled, detail: status.detail };
}

async function tryCpu(): Promise<string | null> {
  return (await activate('cpu')) ? null : 'the cpu backend did not initialise';
}

/**
 * Activates a backend. 'auto' tries tfjs-node-gpu (installed and a GPU visible),
 * tfjs-node, wasm (SIMD, no threads; with the native OpenBLAS kernels of
 * @atomizer/wasm-native when built, see BackendOptions), cpu, in that order. An explicit choice that
 * is unavailable throws an Error saying why and how to install it.
 */
export async function selectBackend(choice: BackendChoice = 'auto', log?: BackendLogger, opts: BackendOptions = {}): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new Error(`Unknown backend '${String(choice)}'; expected one of: ${BACKEND_CHOICES.join(', ')}`);
  }
  const done = (name: string, detail: string, native = false): BackendInfo => {
    const info = { requested: choice, name, detail, native };
    log?.(`tfjs backend: ${name}${native ? '+native' : ''} (${detail})`);
    return info;
  };
  const wasmDone = async (skipped = ''): Promise<BackendInfo> => {
    const n = await wasmNative(opts);
    setNativeKernelsActive(n.native);
    return done('wasm', `WebAssembly, SIMD, single thread; ${n.detail}${skipped}`, n.native);
  };
  switch (choice) {
    case 'tensorflow-gpu': {
      const why = await tryGpu();
      if (why !== null) throw new Error(`Backend 'tensorflow-gpu' unavailable: ${why}. ${GPU_HELP}`);
      return done('tensorflow', 'native libtensorflow, GPU');
    }
    case 'tensorflow': {
      const why = await tryNode();
      if (why !== null) throw new Error(`Backend 'tensorflow' unavailable: ${why}. ${NODE_HELP}`);
      return done('tensorflow', 'native libtensorflow, CPU');
    }
    case 'wasm': {
      const why = await tryWasm();
      if (why !== null) throw new Error(`Backend 'wasm' unavailable: ${why}. Reinstall @tensorflow/tfjs-backend-wasm.`);
      return wasmDone();
    }
    case 'cpu': {
      const why = await tryCpu();
      if (why !== null) throw new Error(`Backend 'cpu' unavailable: ${why}`);
      return done('cpu', 'pure JavaScript');
    }
    case 'auto': {
      const skipped: string[] = [];
      const gpu = await tryGpu();
      if (gpu === null) return done('tensorflow', 'native libtensorflow, GPU');
      skipped.push(`gpu: ${gpu}`);
      const node = await tryNode();
      if (node === null) return done('tensorflow', `native libtensorflow, CPU; skipped ${skipped.join('; ')}`);
      skipped.push(`tensorflow: ${node}`);
      const wasm = await tryWasm();
      if (wasm === null) return wasmDone(`; skipped ${skipped.join('; ')}`);
      skipped.push(`wasm: ${wasm}`);
      const cpu = await tryCpu();
      if (cpu === null) return done('cpu', `pure JavaScript; skipped ${skipped.join('; ')}`);
      throw new Error(`No tfjs backend could be initialised: ${[...skipped, `cpu: ${cpu}`].join('; ')}`);
    }
  }
}
