// Which grid `atomizer predict` reads and maps: the scene's full resolution,
// or, when the modality asks for a coarser grid (resolutionFactor f < 1), the
// overview of each file closest to, not coarser than, f (geotiff-source.ts's
// rule): a COG is then read at a fraction of the bytes, and the modality is
// left only the rest of the way to average (f / the overview's scale; nothing
// when the overview is the wanted grid). The map is on the grid read. A file
// without overviews is read at full resolution and averaged by the modality,
// as before. Bands read at different levels (band files, only some with
// overviews) cannot share one remaining factor: the scene is then read at
// full resolution.

import { parseModality, type Modality, type SceneWindows } from '@atomizer/tokenizer';

/** The reader resolution factor a modality asks for; undefined: full resolution. */
export function readFactorOf(m: Modality): number | undefined {
  return m.resolutionFactor < 1 ? m.resolutionFactor : undefined;
}

/** Remaining factors this close to 1 are the overview's rounding (sizes round up), not averaging to do. */
const SAME_GRID = 0.02;

/**
 * The modality to apply to windows of `scene` opened at `factor`: `m` with the resolution factor
 * left after the overview read (its training ranges dropped: predicting presents the canonical
 * view). Undefined when the bands were read at different levels (read at full resolution instead).
 */
export function modalityOnGrid(
  m: Modality,
  scene: Pick<SceneWindows, 'bandScales'>,
  factor: number | undefined,
): { modality: Modality; scale: number } | undefined {
  if (factor === undefined) return { modality: m, scale: 1 };
  const scales = scene.bandScales.map((s) => (s.x + s.y) / 2);
  const lo = Math.min(...scales);
  const hi = Math.max(...scales);
  if (hi - lo > SAME_GRID * hi) return undefined;
  const scale = (lo + hi) / 2;
  const left = factor / scale;
  const { resolutionRange: _range, ...rest } = m;
  return {
    modality: parseModality({ ...rest, resolutionFactor: left > 1 - SAME_GRID ? 1 : left }, `modality ${m.name} on the grid read`),
    scale,
  };
}
