import { createRequire } from 'node:module';
import type { EvalEvent, RoundEvent } from '@atomizer/protocol';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

// The plots of `atomizer report`, rendered without a browser: Vega-Lite specs
// compiled to Vega, rendered to SVG by Vega's headless renderer, rasterised to
// PNG by resvg with the DejaVu Sans font shipped by an npm package (no system
// font is used, so the pixels are the same on every machine). Every spec has a
// fixed width x height with autosize 'fit', so a PNG is exactly
// (width x scale) x (height x scale) pixels.

export interface Plot {
  /** File name, e.g. 'loss-lr.png'. */
  file: string;
  title: string;
  /** One sentence: what the plot shows (HTML alt text, Markdown caption). */
  alt: string;
  png: Uint8Array;
  width: number;
  height: number;
}

export const PLOT_WIDTH = 720;
export const PLOT_HEIGHT = 320;
export const PLOT_SCALE = 2;

const require = createRequire(import.meta.url);
const FONT_FILE = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const FONT = 'DejaVu Sans';
/** Rounds are integers: integer ticks only. */
const ROUND_AXIS = { field: 'round', type: 'quantitative', title: 'round', scale: { nice: false }, axis: { format: 'd', tickMinStep: 1 } };

/** Half-width of the centred moving average drawn over noisy per-round series: about 2% of the rounds. */
function smoothHalfWidth(n: number): number {
  return Math.max(0, Math.round(n / 50));
}

const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400, titleLimit: 400 },
  title: { fontSize: 14, anchor: 'start' as const },
};

/** A Vega-Lite spec (fixed size, fit) -> PNG bytes of exactly PLOT_WIDTH*scale x PLOT_HEIGHT*scale pixels. */
export async function renderPng(
  spec: Record<string, unknown>,
  width = PLOT_WIDTH,
  height = PLOT_HEIGHT,
  scale = PLOT_SCALE,
): Promise<{ png: Uint8Array; width: number; height: number; svg: string }> {
  const full = { ...spec, width, height, autosize: { type: 'fit', contains: 'padding' }, config: CONFIG } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(full).spec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const r = new Resvg(svg, {
    font: { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT, sansSerifFamily: FONT },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
  });
  const img = r.render();
  return { png: new Uint8Array(img.asPng()), width: img.width, height: img.height, svg };
}

async function plot(file: string, title: string, alt: string, spec: Record<string, unknown>): Promise<Plot> {
  const r = await renderPng({ title, ...spec });
  return { file, title, alt, png: r.png, width: r.width, height: r.height };
}

/** Loss (left axis) and learning rate (right axis) over rounds. */
export function lossLrPlot(rounds: readonly RoundEvent[]): Promise<Plot> {
  const values = rounds.map((r) => ({ round: r.round, loss: r.loss, lr: r.lr }));
  return plot(
    'loss-lr.png',
    'Training loss and learning rate per round',
    'Line chart: mean training loss per round (faint) and its moving average (left axis), and the learning rate (dashed, right axis), against the round number.',
    {
      data: { values },
      encoding: { x: ROUND_AXIS },
      layer: [
        {
          layer: [
            {
              mark: { type: 'line', color: '#1f77b4', strokeWidth: 1, opacity: 0.35 },
              encoding: {
                y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false }, axis: { titleColor: '#1f77b4' } },
              },
            },
            {
              transform: [
                {
                  window: [{ op: 'mean', field: 'loss', as: 'smooth' }],
                  frame: [-smoothHalfWidth(rounds.length), smoothHalfWidth(rounds.length)],
                  sort: [{ field: 'round' }],
                },
              ],
              mark: { type: 'line', color: '#1f77b4', strokeWidth: 2 },
              encoding: { y: { field: 'smooth', type: 'quantitative' } },
            },
          ],
        },
        {
          mark: { type: 'line', color: '#ff7f0e', strokeDash: [5, 3], strokeWidth: 1.5 },
          encoding: { y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { titleColor: '#ff7f0e', format: '.1e' } } },
        },
      ],
      resolve: { scale: { y: 'independent' } },
    },
  );
}

/** The metric an eval event is ranked by: accuracy (single-label) or mAP (multi-label). */
export function headlineMetric(e: EvalEvent): { name: 'accuracy' | 'mAP'; value: number } | undefined {
  if (e.accuracy !== undefined) return { name: 'accuracy', value: e.accuracy };
  if (e.mAP !== undefined) return { name: 'mAP', value: e.mAP };
  return undefined;
}

/** Grouped bars at the last evaluated round: per modality, accuracy (or mAP) and macro F1, coloured seen / unseen. */
export function evalBarsPlot(evals: readonly EvalEvent[]): Promise<Plot> {
  const splits = new Set(evals.map((e) => e.split));
  const label = (e: EvalEvent) => (splits.size > 1 ? `${e.split}/${e.modality}` : e.modality);
  const sorted = [...evals].sort((a, b) => (a.seen === b.seen ? 0 : a.seen === 'seen' ? -1 : 1));
  const values: Array<Record<string, unknown>> = [];
  for (const e of sorted) {
    const h = headlineMetric(e);
    if (h !== undefined) values.push({ modality: label(e), seen: e.seen, metric: h.name, value: h.value });
    if (e.macroF1 !== undefined) values.push({ modality: label(e), seen: e.seen, metric: 'macro F1', value: e.macroF1 });
  }
  const order = [...new Set(sorted.map(label))];
  const round = Math.max(...evals.map((e) => e.round));
  return plot(
    'eval-modalities.png',
    `Evaluation per modality, seen vs unseen (round ${round})`,
    'Grouped bars: per modality, accuracy (or mAP) and macro F1; blue bars are modalities seen in training, orange ones unseen.',
    {
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'modality', type: 'nominal', sort: order, title: null, axis: { labelAngle: -30 } },
        xOffset: { field: 'metric', type: 'nominal' },
        y: { field: 'value', type: 'quantitative', title: 'score', scale: { domain: [0, 1] } },
        color: { field: 'seen', type: 'nominal', scale: { domain: ['seen', 'unseen'], range: ['#1f77b4', '#ff7f0e'] }, title: 'modality' },
        opacity: { field: 'metric', type: 'ordinal', scale: { range: [1, 0.5] }, title: 'metric' },
      },
    },
  );
}

/** Accuracy (or mAP) per modality over the evaluated rounds; unseen dashed. */
export function evalHistoryPlot(evals: readonly EvalEvent[]): Promise<Plot> {
  const splits = new Set(evals.map((e) => e.split));
  const values = evals.flatMap((e) => {
    const h = headlineMetric(e);
    return h === undefined
      ? []
      : [
          {
            round: e.round,
            modality: `${splits.size > 1 ? `${e.split}/${e.modality}` : e.modality} (${e.seen})`,
            seen: e.seen,
            value: h.value,
            metric: h.name,
          },
        ];
  });
  const metric = values[0]?.metric ?? 'accuracy';
  return plot(
    'eval-history.png',
    `${metric} per modality over rounds`,
    `Line chart: ${metric} of each evaluated modality against the round; dashed lines are modalities never seen in training.`,
    {
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: ROUND_AXIS,
        y: { field: 'value', type: 'quantitative', title: metric, scale: { domain: [0, 1] } },
        color: { field: 'modality', type: 'nominal', title: 'modality (dashed: unseen)' },
        strokeDash: {
          field: 'seen',
          type: 'nominal',
          scale: {
            domain: ['seen', 'unseen'],
            range: [
              [1, 0],
              [5, 3],
            ],
          },
          legend: null,
        },
      },
    },
  );
}

/** Samples per second per round. */
export function throughputPlot(rounds: readonly RoundEvent[]): Promise<Plot> {
  return plot(
    'throughput.png',
    'Throughput: samples per second per round',
    'Line chart: training samples per second of round wall time, per round (faint) and its moving average.',
    {
      data: { values: rounds.map((r) => ({ round: r.round, sps: r.samplesPerSecond })) },
      encoding: { x: ROUND_AXIS, y: { field: 'sps', type: 'quantitative', title: 'samples / s' } },
      layer: [
        { mark: { type: 'line', color: '#2ca02c', strokeWidth: 1, opacity: 0.35, point: rounds.length <= 60 } },
        {
          transform: [
            {
              window: [{ op: 'mean', field: 'sps', as: 'smooth' }],
              frame: [-smoothHalfWidth(rounds.length), smoothHalfWidth(rounds.length)],
              sort: [{ field: 'round' }],
            },
          ],
          mark: { type: 'line', color: '#2ca02c', strokeWidth: 2 },
          encoding: { y: { field: 'smooth', type: 'quantitative' } },
        },
      ],
    },
  );
}

/** Round wall time vs the slowest worker's compute time (the gap is queueing, S3 and aggregation). */
export function roundTimePlot(rounds: readonly RoundEvent[]): Promise<Plot> {
  const values = rounds.flatMap((r) => [
    { round: r.round, series: 'round wall time', ms: r.wallMs },
    { round: r.round, series: 'slowest worker compute', ms: r.slowestComputeMs },
  ]);
  return plot(
    'round-time.png',
    'Round wall time vs compute time',
    "Line chart: per round, the wall time and the slowest worker's compute time in milliseconds; the gap is overhead (queueing, transfers, aggregation).",
    {
      data: { values },
      mark: { type: 'line' },
      encoding: {
        x: ROUND_AXIS,
        y: { field: 'ms', type: 'quantitative', title: 'milliseconds' },
        color: {
          field: 'series',
          type: 'nominal',
          scale: { domain: ['round wall time', 'slowest worker compute'], range: ['#d62728', '#9467bd'] },
          title: null,
        },
      },
    },
  );
}
