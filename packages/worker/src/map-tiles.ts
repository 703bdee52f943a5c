// The tiles of a map `atomizer predict` makes, and one tile predicted: the
// code both the in-process path (the coordinator) and a worker's predict job
// run, so a map made on workers equals the in-process one byte for byte.
//
// The model classifies patches, so each output pixel gets the class of the
// patch centred on it (stride 1; with stride s, a patch centred in each s x s
// block gives the whole block its class). Patches at the scene's edge are
// shifted inwards to stay whole. Each tile (tileSize x tileSize pixels of the
// map) is predicted from the window its patches cover: the tile plus a halo of
// half a patch on every side, so tile edges do not show. A tile's batches are
// seeded by (run seed, checkpoint round, tile, batch), never by who computes it.

import { predict } from '@atomizer/model';
import { bandSpan, cropBand, deriveSeed, type BandRaster, type BandStats, type Modality, type Sample } from '@atomizer/tokenizer';
import { MAP_NODATA, argmax, encodeProbabilities } from './map-encoding.js';
import { buildEvalBatch, type RunContext } from './run-context.js';

/** Where the tiles of a map are and which scene pixels a patch reads. */
export interface MapGeometry {
  /** The grid read (and mapped). */
  W: number;
  H: number;
  /** Patch width/height (the patch side, or the scene's side when smaller). */
  kw: number;
  kh: number;
  /** Pixels of overlap read around each tile (half a patch). */
  halo: number;
  tileSize: number;
  across: number;
  down: number;
  tiles: number;
}

export function mapGeometry(W: number, H: number, patch: number, tileSize: number): MapGeometry {
  const across = Math.ceil(W / tileSize);
  const down = Math.ceil(H / tileSize);
  return {
    W,
    H,
    kw: Math.min(patch, W),
    kh: Math.min(patch, H),
    halo: Math.floor(patch / 2),
    tileSize,
    across,
    down,
    tiles: across * down,
  };
}

/** Tile t (row-major) as [x0, y0, cols, rows] of the map. */
export function tileRect(g: MapGeometry, t: number): [number, number, number, number] {
  const tx = t % g.across;
  const ty = Math.floor(t / g.across);
  return [tx * g.tileSize, ty * g.tileSize, Math.min(g.tileSize, g.W - tx * g.tileSize), Math.min(g.tileSize, g.H - ty * g.tileSize)];
}

/** Start of the whole patch centred on pixel c (shifted inwards at the edges). */
const patchStart = (c: number, halo: number, k: number, size: number): number => Math.max(0, Math.min(size - k, c - halo));

/** The window (scene pixels) tile t's patches read: [x0, y0, w, h]. */
export function tileWindow(g: MapGeometry, t: number): [number, number, number, number] {
  const [ox, oy, cols, rows] = tileRect(g, t);
  const x0 = patchStart(ox, g.halo, g.kw, g.W);
  const y0 = patchStart(oy, g.halo, g.kh, g.H);
  const x1 = patchStart(ox + cols - 1, g.halo, g.kw, g.W) + g.kw;
  const y1 = patchStart(oy + rows - 1, g.halo, g.kh, g.H) + g.kh;
  return [x0, y0, x1 - x0, y1 - y0];
}

/** The normalisation a map is predicted with: the run's statistics, each band of the table's replaced by its [key, mean, std]. */
export function statsWithTable(
  runStats: ReadonlyMap<string, BandStats>,
  table: ReadonlyArray<readonly [string, number, number]>,
): Map<string, BandStats> {
  const out = new Map(runStats);
  for (const [key, mean, std] of table) out.set(key, { key, count: 1, mean, std, min: Number.NaN, max: Number.NaN });
  return out;
}

/** What predicting a tile needs besides its window. */
export interface TilePredictor {
  g: MapGeometry;
  /** Each band's own grid size, in reading order (SceneWindows.bandGrids). */
  bandGrids: ReadonlyArray<{ width: number; height: number }>;
  /** The modality as applied to the grid read. */
  modality: Modality;
  /** The run, its stats the normalisation (statsWithTable). */
  ctx: RunContext;
  weights: Float32Array;
  /** Checkpoint round: seeds derive from it. */
  round: number;
  stride: number;
  batchSize: number;
  probabilities: boolean;
}

export interface PredictedTile {
  /** cols x rows pixels, samplesPerPixel bytes each (1, or the class count with probabilities), MAP_NODATA where nothing was predicted. */
  values: Uint8Array;
  /** Pixels per class (the top class with probabilities). */
  pixels: number[];
  nodata: number;
  patches: number;
  atoms: number;
}

/** Whether the pixel is missing (NaN or nodata) in every band on the finest grid. */
function missingEverywhere(fine: readonly BandRaster[], i: number): boolean {
  for (const b of fine) {
    const v = b.values[i] as number;
    if (v === v && v !== b.nodata) return false;
  }
  return true;
}

/** A patch of the window sample: every band cropped on the ground of scene pixels [px, px + kw) x [py, py + kh). */
function cropPatch(win: Sample, p: TilePredictor, wx: number, wy: number, px: number, py: number): Sample {
  const { g } = p;
  const bands = win.bands.map((b, i) => {
    const grid = p.bandGrids[i]!;
    const [c0] = bandSpan(wx, 1, grid.width, g.W);
    const [r0] = bandSpan(wy, 1, grid.height, g.H);
    const [pc, pw] = bandSpan(px, g.kw, grid.width, g.W);
    const [pr, ph] = bandSpan(py, g.kh, grid.height, g.H);
    const cx = Math.min(pc - c0, b.width - 1);
    const cy = Math.min(pr - r0, b.height - 1);
    return cropBand(b, cx, cy, Math.min(pw, b.width - cx), Math.min(ph, b.height - cy));
  });
  return { id: `${win.id}:${px},${py}`, bands, labels: [] };
}

/** Tile t of the map from its window (tileWindow(g, t) of the scene). */
export function predictTile(p: TilePredictor, t: number, win: Sample): PredictedTile {
  const { g, ctx, stride } = p;
  const C = ctx.model.numClasses;
  const spp = p.probabilities ? C : 1;
  const [ox, oy, cols, rows] = tileRect(g, t);
  const [wx, wy, ww, wh] = tileWindow(g, t);
  const fine = win.bands.filter((b) => b.width === ww && b.height === wh);
  // One patch per block: centre pixel, and the block it paints.
  const blocks: Array<{ bx: number; by: number; bw: number; bh: number; cx: number; cy: number }> = [];
  for (let by = 0; by < rows; by += stride) {
    for (let bx = 0; bx < cols; bx += stride) {
      const bw = Math.min(stride, cols - bx);
      const bh = Math.min(stride, rows - by);
      blocks.push({ bx, by, bw, bh, cx: ox + bx + Math.floor((bw - 1) / 2), cy: oy + by + Math.floor((bh - 1) / 2) });
    }
  }
  const out: PredictedTile = {
    values: new Uint8Array(cols * rows * spp).fill(MAP_NODATA),
    pixels: new Array<number>(C).fill(0),
    nodata: 0,
    patches: 0,
    atoms: 0,
  };
  const paint = (blk: (typeof blocks)[number], logits: Float32Array | undefined, at: number) => {
    const px = new Uint8Array(spp).fill(MAP_NODATA);
    if (logits !== undefined) {
      if (p.probabilities) encodeProbabilities(logits, at, C, ctx.model.task, px, 0);
      else px[0] = argmax(logits, at, C);
    }
    for (let y = blk.by; y < blk.by + blk.bh; y++) {
      for (let x = blk.bx; x < blk.bx + blk.bw; x++) {
        // A pixel missing in every band stays nodata even inside a predicted block.
        const missing = logits === undefined || (fine.length > 0 && missingEverywhere(fine, (oy + y - wy) * ww + (ox + x - wx)));
        if (missing) {
          out.nodata++;
          continue;
        }
        out.values.set(px, (y * cols + x) * spp);
        out.pixels[argmax(logits, at, C)]!++;
      }
    }
  };
  for (let start = 0, ci = 0; start < blocks.length; start += p.batchSize, ci++) {
    const part = blocks.slice(start, start + p.batchSize);
    const live: typeof part = [];
    for (const b of part) {
      if (fine.length > 0 && missingEverywhere(fine, (b.cy - wy) * ww + (b.cx - wx))) paint(b, undefined, 0);
      else live.push(b);
    }
    if (live.length === 0) continue;
    const samples = live.map((b) => cropPatch(win, p, wx, wy, patchStart(b.cx, g.halo, g.kw, g.W), patchStart(b.cy, g.halo, g.kh, g.H)));
    const built = buildEvalBatch(samples, p.modality, ctx, deriveSeed(ctx.config.seed, 0x9ed1, p.round, t, ci));
    const dropped = new Set(built?.dropped ?? live.map((_, i) => i));
    const logits = built === undefined ? undefined : predict(p.weights, built.batch, ctx.model);
    out.patches += live.length - dropped.size;
    out.atoms += built?.atoms ?? 0;
    let row = 0;
    live.forEach((b, i) => {
      if (dropped.has(i) || logits === undefined) paint(b, undefined, 0);
      else paint(b, logits, row++ * C);
    });
  }
  return out;
}
