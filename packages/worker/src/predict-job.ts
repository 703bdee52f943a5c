// A worker's predict job (`atomizer predict --redis`): open the scene where it
// lives, read the windows of the job's tiles, predict them with the checkpoint
// (map-tiles.ts, the in-process path's own code) and upload the tiles' pixels
// as one flat object to the job's result key. The checkpoint is fetched once
// per compute process and checked against the sha256 the job carries.

import { performance } from 'node:perf_hooks';
import { encodeFlat, getIfExists, sha256Hex, type PredictJob, type PredictResultMeta } from '@atomizer/protocol';
import { openSceneWindows } from '@atomizer/tokenizer';
import { checkpointWeights } from './checkpoint-weights.js';
import type { ComputeOptions, JobOutput } from './compute.js';
import type { JobCache } from './job-cache.js';
import { PermanentJobError } from './job-errors.js';
import { mapGeometry, predictTile, statsWithTable, tileWindow } from './map-tiles.js';
import { evalModality, type RunContext } from './run-context.js';

/** Checkpoint weights per compute process (its JobCache), by sha256: a prediction's jobs load them once. */
const checkpoints = new WeakMap<JobCache, Map<string, Promise<Float32Array>>>();

async function jobWeights(job: PredictJob, ctx: RunContext, cache: JobCache, counters: { bytesIn: number }): Promise<Float32Array> {
  let held = checkpoints.get(cache);
  if (held === undefined) checkpoints.set(cache, (held = new Map()));
  let p = held.get(job.checkpointSha256);
  if (p === undefined) {
    p = (async () => {
      const bytes = await getIfExists(cache.store, job.checkpointKey);
      if (bytes === undefined)
        throw new PermanentJobError(
          `predict job ${job.predict} of run ${job.run}: checkpoint ${job.checkpointKey} is not in the store (deleted by retention?); predict again with a kept checkpoint`,
        );
      counters.bytesIn += bytes.byteLength;
      const sha = sha256Hex(bytes);
      if (sha !== job.checkpointSha256) {
        throw new PermanentJobError(
          `predict job ${job.predict} of run ${job.run}: checkpoint ${job.checkpointKey} has sha256 ${sha}, the job expects ${job.checkpointSha256} (overwritten since the prediction started); predict again`,
        );
      }
      try {
        return checkpointWeights(bytes, job.checkpointKey, ctx);
      } catch (err) {
        throw new PermanentJobError((err as Error).message);
      }
    })();
    p.catch(() => held.delete(job.checkpointSha256));
    held.clear(); // one checkpoint at a time: a prediction's jobs share it
    held.set(job.checkpointSha256, p);
  }
  return p;
}

/** Run one predict job (see the file comment). */
export async function predictJob(job: PredictJob, ctx: RunContext, cache: JobCache, opts: ComputeOptions): Promise<JobOutput> {
  const counters = { bytesIn: 0 };
  const t0 = performance.now();
  const what = `predict job ${job.predict} of run ${job.run} (tiles ${job.start}-${job.end - 1} of ${job.input})`;
  const weights = await jobWeights(job, ctx, cache, counters);
  const scene = await openSceneWindows(job.input, {
    ...(job.sensor !== undefined ? { sensor: job.sensor } : {}),
    ...(job.bands !== undefined ? { bands: job.bands } : {}),
    ...(job.resolution !== undefined ? { resolutionFactor: job.resolution } : {}),
  });
  try {
    if (scene.width !== job.width || scene.height !== job.height) {
      throw new PermanentJobError(
        `${what}: the scene is ${scene.width}x${scene.height} pixels here, ${job.width}x${job.height} when the prediction started; predict again`,
      );
    }
    const g = mapGeometry(scene.width, scene.height, job.patch, job.tileSize);
    if (job.end > g.tiles) throw new PermanentJobError(`${what}: the map has ${g.tiles} tiles`);
    let modality;
    try {
      modality = evalModality(ctx, job.modality);
    } catch (err) {
      throw new PermanentJobError(`${what}: ${(err as Error).message}`);
    }
    const predictor = {
      g,
      bandGrids: scene.bandGrids,
      modality,
      ctx: { ...ctx, stats: statsWithTable(ctx.stats, job.normalisation) },
      weights,
      round: job.round,
      stride: job.stride,
      batchSize: job.batchSize,
      probabilities: job.probabilities,
    };
    const t1 = performance.now();
    opts.onProgress?.('compute', { tiles: job.end - job.start });
    const tiles: Uint8Array[] = [];
    const pixels = new Array<number>(ctx.model.numClasses).fill(0);
    let nodata = 0;
    let patches = 0;
    let atoms = 0;
    let readMs = 0;
    for (let t = job.start; t < job.end; t++) {
      const r0 = performance.now();
      const win = await scene.readWindow(...tileWindow(g, t));
      readMs += performance.now() - r0;
      const tile = predictTile(predictor, t, win);
      tiles.push(tile.values);
      tile.pixels.forEach((n, c) => (pixels[c]! += n));
      nodata += tile.nodata;
      patches += tile.patches;
      atoms += tile.atoms;
    }
    const t3 = performance.now();
    const all = new Uint8Array(tiles.reduce((n, x) => n + x.length, 0));
    tiles.reduce((at, x) => (all.set(x, at), at + x.length), 0);
    const meta: PredictResultMeta = {
      kind: 'predict-result',
      run: job.run,
      predict: job.predict,
      start: job.start,
      end: job.end,
      checkpointSha256: job.checkpointSha256,
      samplesPerPixel: job.probabilities ? ctx.model.numClasses : 1,
      tileBytes: tiles.map((x) => x.length),
      pixels,
      nodata,
      patches,
      atoms,
      backend: opts.backend,
      worker: opts.worker,
    };
    const bytes = encodeFlat(meta, { tiles: all });
    opts.onProgress?.('upload');
    const u0 = performance.now();
    await opts.store.put(job.resultKey, bytes);
    const uploadMs = performance.now() - u0;
    return {
      reply: {
        resultKey: job.resultKey,
        run: job.run,
        round: job.round,
        job: `${job.predict}/${job.start}-${job.end}`,
        samples: patches,
        loss: 0,
        atoms,
        // Window reads count as fetching, like a shard's download.
        fetchMs: t1 - t0 + readMs,
        batchMs: 0,
        computeMs: t3 - t1 - readMs,
        uploadMs,
        bytesIn: counters.bytesIn,
        bytesOut: bytes.byteLength,
        backend: opts.backend,
        worker: opts.worker,
      },
    };
  } finally {
    await scene.close();
  }
}
