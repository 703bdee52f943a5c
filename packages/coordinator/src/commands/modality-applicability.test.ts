import { ModalityRegistry, parseModality, type BandRaster, type Sample } from '@atomizer/tokenizer';
import type { RunContext } from '@atomizer/worker';
import { describe, expect, it } from 'vitest';
import { applicableModalities, trainingSensors, whyNotApplicable } from './modality-applicability.js';

// The cross-sensor test bed's runs (sen2-sensors) train on Sentinel-2 and test
// on Landsat simulated from it; their manifests hold statistics of the
// simulated sensors too. A simulating modality applies to the run's own
// imagery only: on a real Landsat-8 scene it would simulate from Landsat DN.

const band = (sensor: string, name: string, wavelengthNm: number): BandRaster => ({
  kind: 'spectral',
  wavelengthNm,
  bandwidthNm: 30,
  sensor,
  name,
  gsdM: 10,
  width: 3,
  height: 3,
  values: Float32Array.from({ length: 9 }, (_, i) => 0.1 + i / 100),
  scale: 1,
  offset: 0,
});
const s2 = (sensor = 'sentinel-2a'): Sample => ({
  id: 's2',
  labels: [0],
  bands: [band(sensor, 'B04', 665), band(sensor, 'B08', 842), band(sensor, 'B11', 1610)],
});
const l8: Sample = {
  id: 'l8',
  labels: [0],
  bands: [band('landsat-8', 'B4', 655), band('landsat-8', 'B5', 865), band('landsat-8', 'B6', 1609)],
};

const registry = ModalityRegistry.default();
const oli = parseModality({ name: 'landsat8-oli', simulate: { sensor: 'landsat-8' } });
const tm = parseModality({ name: 'landsat5-tm', simulate: { sensor: 'landsat-5-tm', bits: 8, gain: 0.0025, offset: 0 } });
const stat = (key: string) => ({ key, count: 9, mean: 0.2, std: 0.1, min: 0, max: 1 });
const ctx = {
  manifest: { stats: { bands: ['sentinel-2a:B04', 'sentinel-2a:B08', 'landsat-8:B4', 'landsat-5-tm:B3'].map(stat) } },
  modalities: { train: [registry.get('s2-rgbn-10m')], val: [], test: [oli, tm] },
} as unknown as RunContext;

describe('modality applicability', () => {
  it("the run's training sensors leave out the sensors it only simulates (their statistics come from simulated views)", () => {
    expect([...trainingSensors(ctx)]).toEqual(['sentinel-2a']);
  });

  it("a simulating modality applies to imagery of the run's sensor and its family (Sentinel-2B), not to a real Landsat-8 scene", () => {
    expect(whyNotApplicable(oli, s2(), ctx)).toBeUndefined();
    expect(whyNotApplicable(oli, s2('sentinel-2b'), ctx)).toBeUndefined();
    expect(whyNotApplicable(oli, l8, ctx)).toBe(
      "modality 'landsat8-oli' simulates landsat-8 from imagery of the sensor the run trained on (sentinel-2a), and this imagery is landsat-8: " +
        "simulated from it, the view is not the one the run was tested on; use 'native' or a modality of landsat-8",
    );
  });

  it('a modality of another sensor: the reason applyModality gives', () => {
    expect(whyNotApplicable(registry.get('s2-rgbn-10m'), l8, ctx)).toMatch(
      /presents images of sensor 'sentinel-2', but sample l8 has bands of landsat-8 only/,
    );
    expect(whyNotApplicable(registry.get('native'), l8, ctx)).toBeUndefined();
  });

  it('the default list on a real Landsat-8 scene: the simulated ones left out in one note naming them, the rest as before', () => {
    const r = applicableModalities([...ctx.modalities.train, ...ctx.modalities.test], l8, ctx);
    expect(r.modalities).toEqual([]);
    expect(r.notes).toEqual([
      expect.stringMatching(
        /^left out the run's modalities landsat8-oli, landsat5-tm: they simulate landsat-8, landsat-5-tm from imagery of the sensor the run trained on \(sentinel-2a\), and this imagery is landsat-8/,
      ),
    ]);
    const own = applicableModalities([...ctx.modalities.train, ...ctx.modalities.test], s2(), ctx);
    expect(own.modalities.map((m) => m.name)).toEqual(['s2-rgbn-10m', 'landsat8-oli', 'landsat5-tm']);
    expect(own.notes).toEqual([]);
  });
});
