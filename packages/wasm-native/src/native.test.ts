import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@atomizer/model/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from './addon.js';
import { FUSED_KERNELS, NATIVE_KERNELS } from './kernels.js';
import { disableNativeKernels, enableNativeKernels, nativeKernelsEnabled } from './native.js';
import { useWasmBackend } from './testing/wasm-backend.js';

// The switches and the fallback: an absent or broken addon (a missing path, a
// file that is no shared object, ATOMIZER_NATIVE=0) leaves the stock wasm
// kernels in place and says why.

const dir = mkdtempSync(join(tmpdir(), 'wasm-native-'));
beforeAll(useWasmBackend);
afterAll(() => {
  disableNativeKernels();
  rmSync(dir, { recursive: true, force: true });
});

function stockKernels(): Array<tf.KernelConfig | undefined> {
  return NATIVE_KERNELS.map((k) => tf.getKernel(k, 'wasm'));
}

describe('fallback when the addon is absent or unusable', () => {
  it('ATOMIZER_NATIVE=0 disables it', () => {
    const before = stockKernels();
    const s = enableNativeKernels({ env: { ATOMIZER_NATIVE: '0' } });
    expect(s).toMatchObject({
      enabled: false,
      reason: 'disabled by ATOMIZER_NATIVE=0',
      detail: 'native kernels: off (disabled by ATOMIZER_NATIVE=0)',
    });
    expect(nativeKernelsEnabled()).toBe(false);
    expect(stockKernels()).toEqual(before);
  });

  it('a missing binary is reported with the way to build it', () => {
    const before = stockKernels();
    const s = enableNativeKernels({ env: { ATOMIZER_NATIVE_ADDON: join(dir, 'absent.node') } });
    expect(s.enabled).toBe(false);
    if (s.enabled) return;
    expect(s.reason).toContain(`no addon at ${join(dir, 'absent.node')}`);
    expect(s.reason).toContain('apt-get install libopenblas-dev && npm rebuild @atomizer/wasm-native');
    expect(stockKernels()).toEqual(before);
    // the model still computes on the stock kernels
    expect(Array.from(tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync())).toEqual([3, 3, 3, 3]);
  });

  it('a file that is not a shared object is reported, not thrown', () => {
    const bogus = join(dir, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file');
    const load = loadAddon({ ATOMIZER_NATIVE_ADDON: bogus });
    expect(load.ok).toBe(false);
    if (!load.ok) expect(load.reason).toMatch(new RegExp(`the addon at ${bogus} failed to load: .*`));
  });

  it('refuses a thread count that is not a positive integer', () => {
    expect(() => enableNativeKernels({ env: { ATOMIZER_NATIVE_THREADS: 'two' } })).toThrow(
      /ATOMIZER_NATIVE_THREADS\) must be a positive integer, got 'two'/,
    );
    expect(() => enableNativeKernels({ threads: 0 })).toThrow(/positive integer/);
  });
});

const load = loadAddon({});
// The addon's suites run only where it loads; elsewhere they show as skipped, with the reason.
const skipReason = load.ok ? '' : ` (skipped: ${load.reason})`;
describe.runIf(load.ok)(`with the addon${skipReason}`, () => {
  it('enables every kernel with one OpenBLAS thread by default, and restores the stock ones', () => {
    const before = stockKernels();
    const s = enableNativeKernels({ env: {} });
    expect(s.enabled).toBe(true);
    if (!s.enabled) return;
    expect(s.detail).toMatch(/^native kernels: on \(OpenBLAS \d+\.\d+\.\d+, \S+, 1 thread, 20 kernels, build [0-9a-f]{12}\)$/);
    expect(s.build).toBe(load.ok ? load.build : undefined); // the sha256 prefix of the binary loaded
    expect(s.kernels).toEqual([...NATIVE_KERNELS, ...FUSED_KERNELS]);
    expect(FUSED_KERNELS.every((k) => tf.getKernel(k, 'wasm') !== undefined)).toBe(true);
    expect(stockKernels().every((k, i) => k !== before[i])).toBe(true);
    expect(enableNativeKernels({ env: {} })).toBe(s); // idempotent
    const two = enableNativeKernels({ env: {}, threads: 2 }); // only the thread count changes
    expect(two.enabled && [two.blas.threads, two.detail.includes('2 threads'), two.kernels.length]).toEqual([2, true, s.kernels.length]);
    enableNativeKernels({ env: {}, threads: 1 });
    disableNativeKernels();
    expect(stockKernels()).toEqual(before);
    expect(FUSED_KERNELS.some((k) => tf.getKernel(k, 'wasm') !== undefined)).toBe(false);
  });

  it('takes the thread count from the option or ATOMIZER_NATIVE_THREADS', () => {
    const s = enableNativeKernels({ env: { ATOMIZER_NATIVE_THREADS: '2' } });
    expect(s.enabled && s.blas.threads).toBe(2);
    disableNativeKernels();
    const t = enableNativeKernels({ env: {}, threads: 1 });
    expect(t.enabled && t.blas.threads).toBe(1);
    disableNativeKernels();
  });
});
