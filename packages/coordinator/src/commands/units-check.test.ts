import type { BandStats } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { unitsMismatch } from './units-check.js';

// The figures are the real ones: the sen2-sensors run's Landsat-8 statistics
// (reflectance of the views simulated from Sentinel-2) and the LANDFIRE
// scene's Landsat-8 surface reflectance read as DN and as reflectance.

const st = (mean: number, std: number, count = 1000): BandStats => ({ key: 'landsat-8:B4', count, mean, std, min: 0, max: 0 });
const run = st(0.1609, 0.0598);

describe('units check', () => {
  it("DN against reflectance: far outside the run's units, saying how far", () => {
    expect(unitsMismatch(run, st(9361.6, 1450.8))).toBe("mean 9362 is 1.6e+5 of the run's stds (0.0598) from the run's mean 0.161");
  });

  it('the same scene in reflectance (another land cover, darker): the same units', () => {
    expect(unitsMismatch(run, st(9361.6 * 2.75e-5 - 0.2, 1450.8 * 2.75e-5))).toBeUndefined();
  });

  it('a scene of one bright or one dark cover is still in the same units (means a few run-stds away)', () => {
    expect(unitsMismatch(st(0.3, 0.1), st(0.02, 0.005))).toBeUndefined(); // water in the NIR against vegetation
    expect(unitsMismatch(st(0.05, 0.02), st(0.35, 0.05))).toBeUndefined(); // desert red against forest: 15 stds
  });

  it('percent against fraction, and units scaled down (reflectance against a run in DN) are caught', () => {
    expect(unitsMismatch(run, st(16.1, 6))).toMatch(/of the run's stds/);
    expect(unitsMismatch(st(9000, 3000), st(0.2, 0.05))).toMatch(/^values of magnitude 0\.206 against the run's 9487 \(x 2\.2e-5\)$/);
  });

  it('no valid value: nothing to judge', () => {
    expect(unitsMismatch(run, st(0, 0, 0))).toBeUndefined();
  });
});
