import * as tf from './tfjs.js';
import type { AtomBatch } from '@atomizer/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { modelConfig } from './config.js';
import { hostInputStage, inputTokens, resolveInputEncoding } from './host-input-stage.js';
import { initParams } from './init.js';
import { inputStage } from './input-stage.js';
import { bigEarthNetS1S2Batch } from './testing/bigearthnet-batch.js';
import { gradients, paramTableOf, predict } from './training.js';

// Host-encoded tokens (TokenEncoder + upload + learned channel vectors on the
// device) and the device input stage are two routes to the same network
// input: on a real batch mixing a Sentinel-1 patch (SAR channel bands, so the
// learned channel_embed takes part) and Sentinel-2 patches with padding, the
// logits and the gradient of every parameter must agree.

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d / Math.max(scale, 1e-12);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`host vs device input encoding on ${backend}`, () => {
    let batch: AtomBatch;
    let labels: number[][];
    beforeAll(async () => {
      await selectBackend(backend);
      // One S1 patch and two S2 patches, different atom counts (padding).
      ({ batch, labels } = await bigEarthNetS1S2Batch([150, 200, 120], 5));
      // The S1 patch really brings channel bands, so channel_embed is exercised.
      expect(batch.bands.some((b) => b.kind === 'channel')).toBe(true);
    });

    it("'auto' picks the host encoder on this CPU backend; unknown modes are rejected", () => {
      expect(resolveInputEncoding('auto')).toBe('host');
      expect(resolveInputEncoding('device')).toBe('device');
      expect(() => resolveInputEncoding('gpu' as 'auto')).toThrow(/inputEncoding is 'gpu'; expected one of: device, host, auto/);
    });

    it('tokens of real atoms equal the device input stage, including the learned channel vectors', () => {
      const cfg = modelConfig('tiny');
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const embed = tf.randomNormal([cfg.channelKinds.length, 16], 0, 1, 'float32', 3) as tf.Tensor2D;
        const host = hostInputStage(batch, cfg, embed).dataSync();
        const device = inputStage(batch, cfg, embed).dataSync();
        const dim = host.length / batch.mask.length;
        let worst = 0;
        let channelRows = 0;
        for (let i = 0; i < host.length; i++) {
          const row = Math.floor(i / dim);
          if (batch.mask[row] === 0) {
            expect(host[i]).toBe(0); // padded rows are zero on the host
            continue;
          }
          worst = Math.max(worst, Math.abs((host[i] as number) - (device[i] as number)));
        }
        for (let r = 0; r < batch.mask.length; r++)
          if (batch.mask[r] !== 0 && batch.bands[batch.band[r]!]?.kind === 'channel') channelRows++;
        expect(channelRows).toBeGreaterThan(0);
        expect(worst).toBeLessThan(1e-5);
      });
      expect(tf.memory().numTensors).toBe(before);
    });

    it('same logits and same gradients of every parameter (tiny and small presets)', () => {
      for (const preset of ['tiny', 'small'] as const) {
        const cfg = modelConfig(preset, { numClasses: 19 }); // BigEarthNet-19 labels
        const w = initParams(cfg, 11);
        const lh = predict(w, batch, cfg, 'host');
        const ld = predict(w, batch, cfg, 'device');
        expect(maxRelDiff(lh, ld), `${preset} logits`).toBeLessThan(1e-5);
        const gh = gradients(w, batch, labels, cfg, { inputEncoding: 'host' });
        const gd = gradients(w, batch, labels, cfg, { inputEncoding: 'device' });
        expect(Math.abs(gh.loss - gd.loss)).toBeLessThan(1e-6);
        expect(maxRelDiff(gh.grads, gd.grads), `${preset} gradients`).toBeLessThan(1e-4);
        // channel_embed gets a real (non-zero) gradient on both routes.
        const e = paramTableOf(cfg).entries.find((x) => x.name === 'channel_embed')!;
        const ce = gh.grads.subarray(e.offset, e.offset + e.size);
        expect(ce.some((v) => v !== 0)).toBe(true);
        expect(maxRelDiff(ce, gd.grads.subarray(e.offset, e.offset + e.size))).toBeLessThan(1e-4);
      }
    });

    it('inputTokens routes by mode', () => {
      const cfg = modelConfig('tiny');
      tf.tidy(() => {
        const embed = tf.zeros([cfg.channelKinds.length, 16]) as tf.Tensor2D;
        // Padded rows tell the routes apart: zero on the host, encoded on the device.
        const padded = batch.mask.findIndex((m) => m === 0);
        expect(padded).toBeGreaterThanOrEqual(0);
        const row = (t: tf.Tensor3D) => t.reshape([-1, t.shape[2]]).slice([padded, 0], [1, -1]).abs().sum().dataSync()[0]!;
        expect(row(inputTokens(batch, cfg, embed, 'host'))).toBe(0);
        expect(row(inputTokens(batch, cfg, embed, 'device'))).toBeGreaterThan(0);
      });
    });
  });
}

describe('a sample without a real atom', () => {
  it('is refused by both input paths instead of producing meaningless logits', async () => {
    await selectBackend('cpu');
    const { batch, labels } = await bigEarthNetS1S2Batch([50, 40], 5);
    // Sample 1 loses every atom (as a fully cloud-masked patch would): only padding is left.
    const empty: AtomBatch = { ...batch, mask: batch.mask.slice() };
    empty.mask.fill(0, batch.maxAtoms, 2 * batch.maxAtoms);
    const cfg = modelConfig('tiny', { numClasses: 19 });
    const w = initParams(cfg, 1);
    for (const inputEncoding of ['host', 'device'] as const) {
      expect(() => predict(w, empty, cfg, inputEncoding)).toThrow(/sample 1 has no real atom/);
      expect(() => gradients(w, empty, labels, cfg, { inputEncoding })).toThrow(/sample 1 has no real atom/);
    }
  });
});
