import * as tf from '../tfjs.js';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { selectBackend } from '../backend.js';

// The layer tests run the same suite on both CPU backends and check that the
// suite freed every tensor it made (tf.memory().numTensors back to its start).

export const CPU_BACKENDS = ['cpu', 'wasm'] as const;
export type CpuBackend = (typeof CPU_BACKENDS)[number];

/** describe(`${title} on ${backend}`) for cpu and wasm, with the backend selected and a tensor-leak check after the suite. */
export function describeOnCpuBackends(title: string, body: (backend: CpuBackend) => void): void {
  for (const backend of CPU_BACKENDS) {
    describe(`${title} on ${backend}`, () => {
      let before = 0;
      beforeAll(async () => {
        await selectBackend(backend);
        before = tf.memory().numTensors;
      });
      afterAll(() => {
        expect(tf.memory().numTensors).toBe(before);
      });
      body(backend);
    });
  }
}

/** max |a - b| over all elements. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}
