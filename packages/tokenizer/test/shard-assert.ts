// Bit-exact comparison of Samples for shard round-trip tests.
import { expect } from 'vitest';
import type { Sample } from '../src/types.js';

export function expectSameSample(actual: Sample, expected: Sample): void {
  expect(actual.id).toBe(expected.id);
  expect(actual.labels).toEqual(expected.labels);
  expect(actual.time).toEqual(expected.time);
  expect(actual.source).toEqual(expected.source);
  expect(actual.bands.length).toBe(expected.bands.length);
  expected.bands.forEach((e, i) => {
    const a = actual.bands[i];
    if (a === undefined) throw new Error(`band ${i} missing`);
    const { values: av, ...ameta } = a;
    const { values: ev, ...emeta } = e;
    // Object.is semantics: a NaN nodata must come back as NaN.
    expect(ameta, `band ${i} (${e.name}) metadata`).toEqual(emeta);
    expect(av.constructor, `band ${i} (${e.name}) dtype`).toBe(ev.constructor);
    expect(av.length).toBe(ev.length);
    const ab = Buffer.from(av.buffer, av.byteOffset, av.byteLength);
    const eb = Buffer.from(ev.buffer, ev.byteOffset, ev.byteLength);
    expect(Buffer.compare(ab, eb), `band ${i} (${e.name}) values`).toBe(0);
  });
}
