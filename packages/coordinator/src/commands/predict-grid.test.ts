import { parseModality } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { modalityOnGrid, readFactorOf } from './predict-grid.js';

const rgbn = parseModality({
  name: 'rgbn-20m',
  sensor: 'sentinel-2',
  bands: ['B02', 'B03', 'B04', 'B08'],
  resolutionFactor: 0.5,
  resolutionRange: [0.25, 1],
});

describe('the grid a prediction reads', () => {
  it('a modality of a coarser grid asks the readers for its factor; full resolution asks nothing', () => {
    expect(readFactorOf(rgbn)).toBe(0.5);
    expect(readFactorOf(parseModality({ name: 'all' }))).toBeUndefined();
  });

  it('leaves the modality the factor the overview did not cover (nothing when the overview is the grid), its training range dropped', () => {
    // sen2.tif's 124x119 overview of 247x237: 0.502 of full resolution.
    const on = modalityOnGrid(rgbn, { bandScales: [{ x: 124 / 247, y: 119 / 237 }] }, 0.5)!;
    expect(on.scale).toBeCloseTo(0.502, 3);
    expect(on.modality).toMatchObject({ name: 'rgbn-20m', bands: ['B02', 'B03', 'B04', 'B08'], resolutionFactor: 1 });
    expect(on.modality.resolutionRange).toBeUndefined();
    // The 0.5 overview read for a factor of 0.25: the modality averages the other half.
    expect(modalityOnGrid({ ...rgbn, resolutionFactor: 0.25 }, { bandScales: [{ x: 0.5, y: 0.5 }] }, 0.25)!.modality.resolutionFactor).toBe(
      0.5,
    );
    // No overview (scale 1): the modality does it all, as at full resolution.
    expect(modalityOnGrid(rgbn, { bandScales: [{ x: 1, y: 1 }] }, 0.5)!.modality.resolutionFactor).toBe(0.5);
    expect(modalityOnGrid(rgbn, { bandScales: [{ x: 1, y: 1 }] }, undefined)).toEqual({ modality: rgbn, scale: 1 });
  });

  it('bands read at different levels cannot share one remaining factor: none (read at full resolution)', () => {
    expect(
      modalityOnGrid(
        rgbn,
        {
          bandScales: [
            { x: 0.5, y: 0.5 },
            { x: 1, y: 1 },
          ],
        },
        0.5,
      ),
    ).toBeUndefined();
  });
});
