import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as tf from './tfjs.js';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { modelConfig } from './config.js';
import { initParams } from './init.js';
import { nativeKernelsActive } from './native-kernels.js';
import { gradients } from './training.js';
import { bigEarthNetBatch } from './testing/bigearthnet-batch.js';

// The native kernels' addon is absent (ATOMIZER_NATIVE_ADDON points at a file that
// does not exist, as on a machine where it could not be built): 'auto' still lands
// on plain wasm, says why, and trains. (vitest runs each test file in its own
// worker, so this environment does not leak into the other files.)

const missing = join(tmpdir(), 'atomizer-no-such-dir', 'atomizer_native.node');
const saved = process.env.ATOMIZER_NATIVE_ADDON;
process.env.ATOMIZER_NATIVE_ADDON = missing;
afterAll(() => {
  if (saved === undefined) delete process.env.ATOMIZER_NATIVE_ADDON;
  else process.env.ATOMIZER_NATIVE_ADDON = saved;
});

describe('without the native addon', () => {
  it("'auto' falls back to plain wasm, logs the reason, and a training step runs", async () => {
    const logs: string[] = [];
    const info = await selectBackend('auto', (m) => logs.push(m));
    if (info.name === 'tensorflow') return expect(info.native).toBe(false); // a machine with tfjs-node never gets to wasm
    expect(info).toMatchObject({ name: 'wasm', native: false });
    expect(info.detail).toContain(
      `native kernels: off (no addon at ${missing}; to build it: apt-get install libopenblas-dev && npm rebuild @atomizer/wasm-native)`,
    );
    expect(logs[0]).toMatch(/^tfjs backend: wasm \(WebAssembly, SIMD, single thread; native kernels: off \(no addon at /);
    expect(nativeKernelsActive()).toBe(false);
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc.name).toBe('batchMatMul'); // the stock kernel
    const cfg = modelConfig('small');
    const { batch, labels } = await bigEarthNetBatch(2, 128, 5);
    const g = gradients(initParams(cfg, 42), batch, labels, cfg);
    expect(Number.isFinite(g.loss)).toBe(true);
    expect(g.grads.length).toBe(264_099);
  });
});
