import { describe, expect, it } from 'vitest';
import { timeEncoding, timeEncodingDim } from './time-encoding.js';

describe('timeEncoding', () => {
  it('doy 91.25 is a quarter of the year: k=1 -> (sin, cos) = (1, 0), k=2 -> (0, -1), k=4 -> (0, 1)', () => {
    const v = timeEncoding(91.25, 4);
    expect(v).toHaveLength(timeEncodingDim(4));
    const expected = [1, 0, -1, 0, 0, -1, 0, 1]; // sin k=1..4, then cos k=1..4
    for (let i = 0; i < 8; i++) expect(v[i]).toBeCloseTo(expected[i]!, 12);
  });

  it('is all zeros when the date is unknown, even in a dirty buffer', () => {
    const out = new Float32Array(10).fill(7);
    timeEncoding(Number.NaN, 4, out, 1);
    expect(Array.from(out)).toEqual([7, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
  });

  it('has period 365 days: day 366 of a leap year encodes like day 1', () => {
    const a = timeEncoding(1, 3);
    const b = timeEncoding(366, 3);
    for (let i = 0; i < 6; i++) expect(a[i]).toBeCloseTo(b[i]!, 12);
  });

  it('rejects a day of year out of range and bad harmonics', () => {
    expect(() => timeEncoding(400, 4)).toThrow(/day of year/);
    expect(() => timeEncoding(10, 0)).toThrow(/harmonics/);
  });
});
