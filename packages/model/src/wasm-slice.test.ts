import * as tf from './tfjs.js';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { seededTensor } from './testing/grad-check.js';

// The replacement Slice/SplitV/Unpack kernels of the wasm backend (wasm-slice.ts)
// must give exactly what the cpu backend's kernels give, for contiguous and
// strided boxes of every rank the model uses and beyond, and for gradients
// flowing through slices.

interface Case {
  shape: number[];
  begin: number[];
  size: number[];
}

const cases: Case[] = [
  { shape: [7], begin: [2], size: [4] },
  { shape: [8, 5], begin: [2, 0], size: [3, 5] }, // contiguous rows
  { shape: [8, 5], begin: [1, 2], size: [4, 2] }, // strided columns
  { shape: [4, 6, 5], begin: [1, 0, 0], size: [2, 6, 5] },
  { shape: [4, 6, 5], begin: [0, 2, 1], size: [4, 3, 3] },
  { shape: [3, 4, 5, 6], begin: [1, 1, 2, 3], size: [2, 2, 3, 2] },
  { shape: [2, 3, 4, 5, 3], begin: [1, 0, 1, 2, 1], size: [1, 3, 2, 3, 2] }, // rank 5
  { shape: [4, 5], begin: [1, 1], size: [0, 3] }, // empty
];

type Results = { slices: number[][]; splits: number[][][]; unstacks: number[][][]; grad: number[] };

function run(): Results {
  return tf.tidy(() => {
    const slices = cases.map((c, i) => Array.from(tf.slice(seededTensor(c.shape, i + 1), c.begin, c.size).dataSync()));
    const x = seededTensor([6, 4, 10], 20);
    const splits = [
      tf.split(x, 3, 0),
      tf.split(x, [1, 3], 1),
      tf.split(x, 2, -1), // the GEGLU split
      tf.split(tf.reshape(x, [24, 10]), 8, 0), // per-sample rows of a reshaped tensor
    ].map((parts) => parts.map((p) => Array.from(p.dataSync())));
    const unstacks = [tf.unstack(x, 0), tf.unstack(x, 1), tf.unstack(x, 2)].map((parts) => parts.map((p) => Array.from(p.dataSync())));
    const R = seededTensor([6, 2, 5], 21);
    const grad = Array.from(
      tf
        .grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [0, 1, 5], [6, 2, 5]), R)))(x)
        .dataSync(),
    );
    return { slices, splits, unstacks, grad };
  });
}

describe('wasm slice kernels', () => {
  it('equal the cpu backend: slices of rank 1-5, splits, unstacks, and a gradient through a slice', async () => {
    await selectBackend('cpu');
    const want = run();
    await selectBackend('wasm');
    const before = tf.memory().numTensors;
    const got = run();
    expect(tf.memory().numTensors).toBe(before);
    expect(got.slices.map((s) => s.length)).toEqual([4, 15, 8, 60, 36, 24, 36, 0]);
    expect(got).toEqual(want);
  });

  it('are the installed wasm kernels', async () => {
    await selectBackend('wasm');
    // tfjs-backend-wasm's own Slice is named `slice`; ours is a closure named `slice` too,
    // so check the behaviour that differs: the original reads the whole input with readSync.
    const backend = tf.backend() as unknown as { readSync: (...a: unknown[]) => unknown };
    const orig = backend.readSync;
    let reads = 0;
    backend.readSync = (...a: unknown[]) => {
      reads++;
      return orig.apply(backend, a);
    };
    try {
      tf.tidy(() => tf.split(tf.ones([8, 4]), 4, 0));
    } finally {
      backend.readSync = orig;
    }
    expect(reads).toBe(0);
  });
});
