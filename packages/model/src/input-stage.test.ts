import * as tf from './tfjs.js';
import { encodeBatchTokens, tokenLayout, type AtomBatch } from '@atomizer/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { modelConfig } from './config.js';
import { inputStage } from './input-stage.js';
import { bigEarthNetBatch } from './testing/bigearthnet-batch.js';

// The device encodings must equal the tokenizer's CPU encoder (two independent
// implementations of docs/model.md section 2) on a real BigEarthNet batch.

/** Largest difference over the tokens of real atoms (padded rows are masked in the model, not zeroed). */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, mask: Float32Array, dim: number): { diff: number; at: number } {
  let diff = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    if (mask[Math.floor(i / dim)] === 0) continue;
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
  }
  return { diff, at };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`input stage on ${backend}`, () => {
    let real: AtomBatch;
    beforeAll(async () => {
      await selectBackend(backend);
      // 3 patches of different atom counts, so the batch has padding.
      real = (await bigEarthNetBatch(3, [2000, 1200, 1500], 3)).batch;
      // Sanity: the fixture has several bands of 3 resolutions.
      expect(real.bands.length).toBe(12);
    });

    for (const mode of ['max', 'integral'] as const) {
      it(`equals encodeBatchTokens within 1e-5 (spectral ${mode})`, () => {
        const cfg = modelConfig('small', { encoding: { spectral: { mode } } });
        const cpu = encodeBatchTokens(real, cfg.encoding);
        const dev = tf.tidy(() => inputStage(real, cfg, tf.zeros([cfg.channelKinds.length, 16])).dataSync());
        expect(dev.length).toBe(cpu.length);
        const dim = tokenLayout(cfg.encoding).dim;
        const { diff, at } = maxAbsDiff(dev, cpu, real.mask, dim);
        expect(real.mask.includes(0)).toBe(true);
        expect(diff, `token ${Math.floor(at / dim)} feature ${at % dim}: device ${dev[at]}, cpu ${cpu[at]}`).toBeLessThan(1e-5);
      });
    }

    it('channel bands get their learned vector in the spectral slot; bad bands are named', () => {
      const cfg = modelConfig('tiny');
      const layout = tokenLayout(cfg.encoding);
      // A real S2 atom plus a SAR VV atom (channel band) and one padded slot.
      const batch: AtomBatch = {
        batchSize: 1,
        maxAtoms: 3,
        value: Float32Array.from([0.5, -1.2, 0]),
        band: Int32Array.from([0, 1, 0]),
        x: Float32Array.from([5, -15, 0]),
        y: Float32Array.from([-5, 25, 0]),
        mask: Float32Array.from([1, 1, 0]),
        doy: Float32Array.from([168]),
        bands: [real.bands[1]!, { kind: 'channel', channelKind: 'sar-vv', name: 'VV', gsdM: 10 }],
      };
      const embed = Float32Array.from({ length: 4 * 16 }, (_, i) => i / 10);
      const tokens = tf.tidy(() => inputStage(batch, cfg, tf.tensor2d(embed, [4, 16])).dataSync());
      const cpu = encodeBatchTokens(batch, cfg.encoding);
      const D = layout.dim;
      for (let j = 0; j < D; j++) {
        const inSpectral = j >= layout.spectral.offset && j < layout.spectral.offset + layout.spectral.size;
        // sar-vv is channel kind 0: its vector is embed[0..15].
        const expected = inSpectral ? (embed[j - layout.spectral.offset] as number) : (cpu[D + j] as number);
        expect(tokens[D + j]).toBeCloseTo(expected, 5);
        expect(tokens[j]).toBeCloseTo(cpu[j] as number, 5);
      }
      expect(() =>
        inputStage(
          { ...batch, bands: [batch.bands[0]!, { kind: 'channel', channelKind: 'lidar', name: 'DSM', gsdM: 1 }] },
          cfg,
          tf.zeros([4, 16]),
        ),
      ).toThrow(/Band 'DSM' has channel kind 'lidar'.*sar-vv/);
      expect(() => inputStage({ ...batch, band: Int32Array.from([0, 7, 0]) }, cfg, tf.zeros([4, 16]))).toThrow(
        /band\[1\] = 7 is outside the band table/,
      );
    });
  });
}
