import * as tf from './tfjs.js';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';

const require = createRequire(import.meta.url);
const installed = (pkg: string): boolean => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

describe('selectBackend', () => {
  it('activates wasm and cpu on request and reports the name', async () => {
    const logs: string[] = [];
    const wasm = await selectBackend('wasm', (m) => logs.push(m));
    expect(wasm.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(logs.join('\n')).toMatch(/tfjs backend: wasm/);
    const cpu = await selectBackend('cpu');
    expect(cpu.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('auto picks the first available backend and says why the others were skipped', async () => {
    const info = await selectBackend('auto');
    expect(tf.getBackend()).toBe(info.name);
    if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) {
      // This machine has neither native package: auto must land on wasm and explain.
      expect(info.name).toBe('wasm');
      expect(info.detail).toMatch(/tfjs-node-gpu is not installed/);
      expect(info.detail).toMatch(/tfjs-node is not installed/);
    } else {
      expect(info.name).toBe('tensorflow');
    }
  });

  it.skipIf(installed('@tensorflow/tfjs-node-gpu'))(
    'an explicitly requested native backend that is missing fails with how to install it (skipped where tfjs-node-gpu is installed)',
    async () => {
      await expect(selectBackend('tensorflow-gpu')).rejects.toThrow(
        /npm install @tensorflow\/tfjs-node-gpu.*CUDA 11\.2.*cuDNN 8\.1.*docs\/gpu\.md/,
      );
      if (!installed('@tensorflow/tfjs-node')) {
        await expect(selectBackend('tensorflow')).rejects.toThrow(/not installed.*npm install @tensorflow\/tfjs-node/);
      }
    },
  );

  it('wasm logs whether the native kernels are on, and the native: false option turns them off', async () => {
    const logs: string[] = [];
    const on = await selectBackend('wasm', (m) => logs.push(m));
    // on where the addon was built, off with the reason where it was not
    if (on.native)
      expect(logs[0]).toMatch(/^tfjs backend: wasm\+native \(WebAssembly, SIMD, single thread; native kernels: on \(OpenBLAS /);
    else expect(logs[0]).toMatch(/^tfjs backend: wasm \(WebAssembly, SIMD, single thread; native kernels: off \(.+\)\)$/);
    const off = await selectBackend('wasm', (m) => logs.push(m), { native: false });
    expect(off.native).toBe(false);
    expect(logs[1]).toBe(
      'tfjs backend: wasm (WebAssembly, SIMD, single thread; native kernels: off (disabled by the native: false option))',
    );
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc.name).toBe('batchMatMul'); // the stock kernel again
  });

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend('webgpu' as 'cpu')).rejects.toThrow(/Unknown backend 'webgpu'.*auto, tensorflow-gpu, tensorflow, wasm, cpu/);
  });
});
