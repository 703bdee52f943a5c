import * as tf from '../tfjs.js';
import {
  BandStatsAccumulator,
  SeededRng,
  SensorCatalog,
  applyModality,
  bandStatsFor,
  deriveSeed,
  type BandRaster,
  type BandStatsTable,
  type Modality,
  type Sample,
} from '@atomizer/tokenizer';
import { softmaxCrossEntropy, labelsToTargets } from '../losses.js';
import { argmaxRows, macroF1, overallAccuracy, splitRows } from '../metrics.js';
import { Adam } from '../optimizer.js';

// The fixed-slot baseline of issue 5: what a conventional network does with a
// modality it was not built for. A plain MLP reads a fixed input vector: one
// slot per band seen in training x the pixels of the training grid. A sample is
// normalised exactly like the atoms (per-band z-score with the same train-split
// statistics, tokenizer's bandStatsFor), then placed:
//   - a band with a slot of its own (same sensor and name) fills that slot;
//   - a band never seen in training goes to its spectral neighbour's slot (the
//     slot whose centre wavelength is nearest) when that slot is still empty,
//     and is dropped otherwise (the MLP has nowhere else to put it);
//   - an empty slot stays 0 (the training mean after the z-score);
//   - a band on another grid (a coarser resolution) is resampled onto the slot
//     grid by area overlap: a 1x1 band is replicated into every pixel, a 2x2
//     band is averaged where its pixels straddle a slot pixel.
// Weights live in one flat Float32Array (initialised with the project's
// SeededRng), trained with the project's Adam on tf.valueAndGrads, on whatever
// tfjs backend is active (call selectBackend first): seeded and deterministic.

/** How a band's values are z-scored: with a statistics table (train split), or 'image': each sample's own. */
export type SlotNormalisation = BandStatsTable | 'image';

/** One input slot: a band seen in training. */
export interface FixedSlot {
  sensor: string;
  name: string;
  /** Centre wavelength (spectral bands); undefined for channel bands (SAR ...), which match by name only. */
  wavelengthNm?: number;
}

export interface FixedSlotLayout {
  slots: FixedSlot[];
  /** Slot grid width and height in pixels (the training views' grid). */
  width: number;
  height: number;
}

/** Where each band of a sample view goes. */
export interface SlotPlacement {
  /** band index in the view -> slot index, and whether the slot is the band's own or its spectral neighbour's. */
  placed: Array<{ band: number; slot: number; how: 'own' | 'neighbour' }>;
  /** Bands with no slot to go to (their neighbour slot was taken, or a channel band never seen). */
  dropped: number[];
}

const sameBand = (a: { sensor: string; name: string }, b: { sensor: string; name: string }): boolean =>
  a.sensor.toLowerCase() === b.sensor.toLowerCase() && a.name.toLowerCase() === b.name.toLowerCase();

/**
 * The slot layout of a training set: every band the train modalities keep,
 * in increasing wavelength (channel bands last), on the finest grid of the
 * train views (the MLP's input has one size; a coarser view, train or test, is
 * resampled onto it by area overlap as fillSlots does for every band).
 */
export function fixedSlotLayout(
  samples: readonly Sample[],
  trainModalities: readonly Modality[],
  catalog?: SensorCatalog,
): FixedSlotLayout {
  if (samples.length === 0) throw new Error('fixed-slot baseline: no training samples');
  if (trainModalities.length === 0) throw new Error('fixed-slot baseline: no train modalities');
  const slots: FixedSlot[] = [];
  let width = 0;
  let height = 0;
  // The first sample is enough to know which bands each modality keeps (a
  // dataset's samples share their band set) and the grids they come on.
  const first = samples[0] as Sample;
  for (const m of trainModalities) {
    const view = applyModality(first, m, { mode: 'eval', ...(catalog !== undefined ? { catalog } : {}) });
    for (const b of view.bands) {
      if (b.width * b.height > width * height) {
        width = b.width;
        height = b.height;
      }
      if (!slots.some((s) => sameBand(s, b))) {
        slots.push({ sensor: b.sensor, name: b.name, ...(b.kind === 'spectral' ? { wavelengthNm: b.wavelengthNm } : {}) });
      }
    }
  }
  slots.sort((a, b) => (a.wavelengthNm ?? Infinity) - (b.wavelengthNm ?? Infinity));
  return { slots, width, height };
}

/** Which slot each band of a view fills (see the file comment for the rules). */
export function slotPlacement(layout: FixedSlotLayout, bands: readonly BandRaster[]): SlotPlacement {
  const placed: SlotPlacement['placed'] = [];
  const dropped: number[] = [];
  const taken = new Set<number>();
  const rest: number[] = [];
  bands.forEach((b, i) => {
    const own = layout.slots.findIndex((s) => sameBand(s, b));
    if (own >= 0 && !taken.has(own)) {
      placed.push({ band: i, slot: own, how: 'own' });
      taken.add(own);
    } else rest.push(i);
  });
  for (const i of rest) {
    const b = bands[i] as BandRaster;
    let best = -1;
    if (b.kind === 'spectral') {
      let dist = Infinity;
      layout.slots.forEach((s, k) => {
        if (s.wavelengthNm === undefined) return;
        const d = Math.abs(s.wavelengthNm - b.wavelengthNm);
        if (d < dist) {
          dist = d;
          best = k;
        }
      });
    }
    if (best >= 0 && !taken.has(best)) {
      placed.push({ band: i, slot: best, how: 'neighbour' });
      taken.add(best);
    } else dropped.push(i);
  }
  placed.sort((a, b) => a.band - b.band);
  return { placed, dropped };
}

/** Area-overlap weights of n source pixels onto m target pixels along one axis. */
function overlap(n: number, m: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  for (let j = 0; j < m; j++) {
    const lo = (j * n) / m;
    const hi = ((j + 1) * n) / m;
    const row: Array<[number, number]> = [];
    for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
      const w = Math.min(hi, i + 1) - Math.max(lo, i);
      if (w > 1e-12) row.push([i, w]);
    }
    out.push(row);
  }
  return out;
}

/**
 * Write one view's fixed-slot vector into `out` (length slots x width x
 * height, slot-major, rows then columns): z-scored values, empty slots 0.
 */
export function fillSlots(
  layout: FixedSlotLayout,
  view: Sample,
  stats: SlotNormalisation,
  out: Float32Array,
  catalog: SensorCatalog = SensorCatalog.default(),
): SlotPlacement {
  const P = layout.width * layout.height;
  if (out.length !== layout.slots.length * P) {
    throw new Error(`fillSlots: output has ${out.length} values, expected ${layout.slots.length} slots x ${P} pixels`);
  }
  out.fill(0);
  const placement = slotPlacement(layout, view.bands);
  for (const { band: bi, slot } of placement.placed) {
    const band = view.bands[bi] as BandRaster;
    const st =
      stats === 'image'
        ? new BandStatsAccumulator().addBand(band).result()[0]!
        : bandStatsFor(stats, band, catalog, `fixed-slot baseline (${view.source ?? view.id})`);
    const inv = st.std > 0 ? 1 / st.std : 1;
    const { width: w, height: h, values, scale, offset } = band;
    const nodata = band.nodata;
    const wx = overlap(w, layout.width);
    const wy = overlap(h, layout.height);
    for (let r = 0; r < layout.height; r++) {
      for (let c = 0; c < layout.width; c++) {
        let sum = 0;
        let wsum = 0;
        for (const [sy, a] of wy[r] as Array<[number, number]>) {
          for (const [sx, bw] of wx[c] as Array<[number, number]>) {
            const v = values[sy * w + sx] as number;
            if (v !== v || (nodata !== undefined && v === nodata)) continue;
            sum += a * bw * ((v * scale + offset - st.mean) * inv);
            wsum += a * bw;
          }
        }
        out[slot * P + r * layout.width + c] = wsum > 0 ? sum / wsum : 0;
      }
    }
  }
  return placement;
}

export interface FixedSlotTrainOptions {
  /** Training samples (as read, before any modality). */
  samples: readonly Sample[];
  /** Each epoch, each sample is presented as one of these (seeded draw). */
  trainModalities: readonly Modality[];
  /** The atoms' normalisation: per-band train-split statistics, or 'image' (each sample's own). */
  stats: SlotNormalisation;
  numClasses: number;
  seed?: number;
  /** Default 30. */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Hidden layer widths, default [128, 128]. */
  hidden?: number[];
  /** Peak Adam learning rate (cosine decay to lr/100 over the run), default 3e-3. */
  lr?: number;
  /** AdamW decoupled weight decay, default 1e-4. */
  weightDecay?: number;
  catalog?: SensorCatalog;
}

export interface FixedSlotModel {
  layout: FixedSlotLayout;
  /** Layer widths: input, hidden..., classes. */
  widths: number[];
  weights: Float32Array;
  stats: SlotNormalisation;
  numClasses: number;
  /** Mean training loss per epoch. */
  epochLoss: number[];
  catalog?: SensorCatalog;
}

interface Layer {
  w: { offset: number; rows: number; cols: number };
  b: { offset: number; size: number };
}

function layersOf(widths: readonly number[]): { layers: Layer[]; size: number } {
  const layers: Layer[] = [];
  let offset = 0;
  for (let i = 0; i + 1 < widths.length; i++) {
    const rows = widths[i] as number;
    const cols = widths[i + 1] as number;
    const w = { offset, rows, cols };
    offset += rows * cols;
    const b = { offset, size: cols };
    offset += cols;
    layers.push({ w, b });
  }
  return { layers, size: offset };
}

/** He-normal weights (std sqrt(2 / fan-in)), zero biases, from `seed`. */
function initMlp(widths: readonly number[], seed: number): Float32Array {
  const { layers, size } = layersOf(widths);
  const flat = new Float32Array(size);
  layers.forEach((l, i) => {
    const rng = SeededRng.derive(seed, i);
    const std = Math.sqrt(2 / l.w.rows);
    for (let k = 0; k < l.w.rows * l.w.cols; k++) flat[l.w.offset + k] = rng.normal() * std;
  });
  return flat;
}

/** Logits [B, C] of the MLP (ReLU hidden layers) on inputs x [B, D]. */
function mlpForward(params: tf.Tensor[], x: tf.Tensor2D): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  const n = params.length / 2;
  for (let i = 0; i < n; i++) {
    h = tf.add(tf.matMul(h, params[2 * i] as tf.Tensor2D), params[2 * i + 1] as tf.Tensor1D);
    if (i + 1 < n) h = tf.relu(h);
  }
  return h;
}

function paramTensors(widths: readonly number[], weights: Float32Array): tf.Tensor[] {
  const { layers } = layersOf(widths);
  const out: tf.Tensor[] = [];
  for (const l of layers) {
    out.push(tf.tensor2d(weights.subarray(l.w.offset, l.w.offset + l.w.rows * l.w.cols), [l.w.rows, l.w.cols]));
    out.push(tf.tensor1d(weights.subarray(l.b.offset, l.b.offset + l.b.size)));
  }
  return out;
}

/** Fixed-slot vectors of `samples` presented as `modality` (eval mode: centred crops). */
export function fixedSlotInputs(
  model: Pick<FixedSlotModel, 'layout' | 'stats' | 'catalog'>,
  samples: readonly Sample[],
  modality: Modality,
): { inputs: Float32Array; placement: SlotPlacement | undefined } {
  const D = model.layout.slots.length * model.layout.width * model.layout.height;
  const inputs = new Float32Array(samples.length * D);
  const catalog = model.catalog ?? SensorCatalog.default();
  let placement: SlotPlacement | undefined;
  samples.forEach((s, i) => {
    const view = applyModality(s, modality, { mode: 'eval', catalog });
    const p = fillSlots(model.layout, view, model.stats, inputs.subarray(i * D, (i + 1) * D), catalog);
    if (i === 0) placement = p;
  });
  return { inputs, placement };
}

/**
 * Train the baseline: each epoch, every training sample once, each presented
 * as a train modality drawn with the seed (train mode: seeded crops), in a
 * seeded order; minibatch AdamW with a cosine-decayed learning rate.
 */
export function trainFixedSlotBaseline(opts: FixedSlotTrainOptions): FixedSlotModel {
  const seed = opts.seed ?? 0;
  const epochs = opts.epochs ?? 30;
  const batchSize = opts.batchSize ?? 64;
  const lr = opts.lr ?? 3e-3;
  const catalog = opts.catalog ?? SensorCatalog.default();
  const layout = fixedSlotLayout(opts.samples, opts.trainModalities, catalog);
  const D = layout.slots.length * layout.width * layout.height;
  const widths = [D, ...(opts.hidden ?? [128, 128]), opts.numClasses];
  const weights = initMlp(widths, deriveSeed(seed, 0));
  const { layers } = layersOf(widths);
  // Weight decay on the matrices only, not the biases.
  const adam = new Adam(weights.length, {
    weightDecay: opts.weightDecay ?? 1e-4,
    decayRanges: layers.map((l) => ({ offset: l.w.offset, length: l.w.rows * l.w.cols })),
  });
  const n = opts.samples.length;
  const M = opts.trainModalities.length;
  // Every (sample, train modality) vector once, up front: the draws below pick among them.
  const all = new Float32Array(n * M * D);
  opts.samples.forEach((s, i) => {
    opts.trainModalities.forEach((m, k) => {
      const rng = SeededRng.derive(seed, 1, i, k);
      const view = applyModality(s, m, { mode: 'train', rng, catalog });
      fillSlots(layout, view, opts.stats, all.subarray((i * M + k) * D, (i * M + k + 1) * D), catalog);
    });
  });
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const totalSteps = epochs * stepsPerEpoch;
  const rng = SeededRng.derive(seed, 2);
  const order = Array.from({ length: n }, (_, i) => i);
  const epochLoss: number[] = [];
  let step = 0;
  const x = new Float32Array(batchSize * D);
  for (let e = 0; e < epochs; e++) {
    for (let k = n - 1; k > 0; k--) {
      const j = rng.int(k + 1);
      [order[k], order[j]] = [order[j] as number, order[k] as number];
    }
    let lossSum = 0;
    for (let start = 0; start < n; start += batchSize) {
      const B = Math.min(batchSize, n - start);
      const labels: number[][] = [];
      for (let b = 0; b < B; b++) {
        const i = order[start + b] as number;
        const k = rng.int(M);
        x.set(all.subarray((i * M + k) * D, (i * M + k + 1) * D), b * D);
        labels.push([...(opts.samples[i] as Sample).labels]);
      }
      const params = paramTensors(widths, weights);
      const xt = tf.tensor2d(x.subarray(0, B * D), [B, D]);
      const targets = labelsToTargets(labels, opts.numClasses, 'single');
      try {
        const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => softmaxCrossEntropy(mlpForward(ps, xt), targets))(params);
        const flat = new Float32Array(weights.length);
        layers.forEach((l, i) => {
          flat.set(grads[2 * i]!.dataSync() as Float32Array, l.w.offset);
          flat.set(grads[2 * i + 1]!.dataSync() as Float32Array, l.b.offset);
        });
        lossSum += (value.dataSync()[0] as number) * B;
        value.dispose();
        for (const g of grads) g.dispose();
        const t = step / Math.max(1, totalSteps - 1);
        adam.update(weights, flat, lr * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * t))));
        step++;
      } finally {
        for (const p of params) p.dispose();
        xt.dispose();
        targets.dispose();
      }
    }
    epochLoss.push(lossSum / n);
  }
  return { layout, widths, weights, stats: opts.stats, numClasses: opts.numClasses, epochLoss, catalog };
}

/** Logits [B*C] (row-major) of the baseline on fixed-slot inputs [B*D]. */
export function predictFixedSlot(model: FixedSlotModel, inputs: Float32Array): Float32Array {
  const D = model.widths[0] as number;
  if (inputs.length % D !== 0) throw new Error(`predictFixedSlot: ${inputs.length} inputs is not a multiple of the ${D} slots`);
  const params = paramTensors(model.widths, model.weights);
  try {
    return tf.tidy(() => mlpForward(params, tf.tensor2d(inputs, [inputs.length / D, D]))).dataSync() as Float32Array;
  } finally {
    for (const p of params) p.dispose();
  }
}

export interface FixedSlotEvaluation {
  accuracy: number;
  macroF1: number;
  samples: number;
  /** How the modality's bands were placed (from the first sample): slot names by band. */
  placement: string;
  predictions: number[];
}

/** Score the baseline on `samples` presented as `modality` (single-label: sample.labels[0]). */
export function evaluateFixedSlotBaseline(model: FixedSlotModel, samples: readonly Sample[], modality: Modality): FixedSlotEvaluation {
  if (samples.length === 0) throw new Error(`fixed-slot baseline: no samples to evaluate modality '${modality.name}' on`);
  const { inputs, placement } = fixedSlotInputs(model, samples, modality);
  const scores = splitRows(predictFixedSlot(model, inputs), model.numClasses);
  const labels = samples.map((s) => s.labels[0] as number);
  const catalog = model.catalog ?? SensorCatalog.default();
  const view = applyModality(samples[0] as Sample, modality, { mode: 'eval', catalog });
  const describe = (placement?.placed ?? []).map((p) => {
    const slot = model.layout.slots[p.slot] as FixedSlot;
    const name = (view.bands[p.band] as BandRaster).name;
    return p.how === 'own' ? name : `${name}->${slot.name}`;
  });
  for (const d of placement?.dropped ?? []) describe.push(`${(view.bands[d] as BandRaster).name} dropped`);
  return {
    accuracy: overallAccuracy(scores, labels, model.numClasses),
    macroF1: macroF1(scores, labels, model.numClasses).value,
    samples: samples.length,
    placement: describe.join(', '),
    predictions: argmaxRows(scores),
  };
}
