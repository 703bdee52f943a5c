// `atomizer predict --redis`: the map's tiles computed by workers. The tiles
// are cut into jobs of `windowsPerJob` consecutive tiles (row-major), every
// job enqueued at once (predict-dispatch.ts); the results are taken in tile
// order, checked, handed to the COG writer and deleted, so the coordinator
// holds one job's tiles at a time. Whatever happens, nothing of the
// prediction's results is left in the store: runs/<run>/predict/<id>/ is
// emptied at the end. The scene must be where the workers can read it.

import { isAbsolute, resolve } from 'node:path';
import { PredictResultMetaSchema, decodeFlat, newBuildId, runKeys, type ObjectStore, type PredictJob } from '@atomizer/protocol';
import { isRemote } from '@atomizer/tokenizer';
import { PredictDispatch } from './predict-dispatch.js';

export interface PredictWorkers {
  redisUrl: string;
  /** The queue the workers serve (the run's eval queue). */
  queue: string;
  /** Map tiles per job. */
  windowsPerJob: number;
  /** BullMQ attempts per job. */
  attempts: number;
  outageBudgetMs?: number;
  pollMs?: number;
}

/** What workers predicted: pixels per class and nodata over the map, who did it. */
export interface WorkerPrediction {
  id: string;
  queue: string;
  jobs: number;
  windowsPerJob: number;
  /** Worker ids whose results made the map. */
  workers: string[];
  pixels: number[];
  nodata: number;
}

/**
 * The scene's location as workers will open it: a URL as given, an absolute path as given (it must
 * be on storage every worker mounts), a relative path made absolute only when the store is a local
 * folder (workers on this host); otherwise refused in one line saying what to give.
 */
export function workerInput(input: string, storeIsLocal: boolean): string {
  if (isRemote(input) || isAbsolute(input)) return input;
  if (storeIsLocal) return resolve(input);
  throw new Error(
    `--input ${input}: workers open the scene themselves and cannot resolve a relative path of this machine; give an http(s):// or s3:// URL, an absolute path on storage every worker mounts, or predict in-process (without --redis)`,
  );
}

/** The fields every job of a prediction shares. */
export type PredictJobTemplate = Omit<PredictJob, 'predict' | 'start' | 'end' | 'resultKey'>;

export async function predictOnWorkers(o: {
  store: ObjectStore;
  workers: PredictWorkers;
  template: PredictJobTemplate;
  tiles: number;
  classes: number;
  /** Byte length of tile t's pixels. */
  tileBytes(t: number): number;
  /** Called for every tile, in order. */
  onTile(t: number, values: Uint8Array): Promise<void>;
  log: (msg: string) => void;
}): Promise<WorkerPrediction> {
  const { template: tpl, workers: w } = o;
  const id = newBuildId();
  const keys = runKeys(tpl.run);
  const jobs: PredictJob[] = [];
  for (let start = 0; start < o.tiles; start += w.windowsPerJob) {
    const end = Math.min(o.tiles, start + w.windowsPerJob);
    jobs.push({ ...tpl, predict: id, start, end, resultKey: keys.predictResult(id, start, end) });
  }
  const dispatch = await PredictDispatch.open({
    redisUrl: w.redisUrl,
    queue: w.queue,
    attempts: w.attempts,
    log: o.log,
    ...(w.outageBudgetMs !== undefined ? { outageBudgetMs: w.outageBudgetMs } : {}),
    ...(w.pollMs !== undefined ? { pollMs: w.pollMs } : {}),
  });
  const out: WorkerPrediction = {
    id,
    queue: w.queue,
    jobs: jobs.length,
    windowsPerJob: w.windowsPerJob,
    workers: [],
    pixels: new Array<number>(o.classes).fill(0),
    nodata: 0,
  };
  const by = new Set<string>();
  let failed = true;
  try {
    const serving = await dispatch.workersServing();
    o.log(
      `prediction ${id}: ${jobs.length} job(s) of ${w.windowsPerJob} tile(s) on queue ${w.queue}; ` +
        (serving.length > 0
          ? `${serving.length} worker(s) serve it (${serving.join(', ')})`
          : `no worker serves it yet: start some (atomizer worker); waiting`),
    );
    await dispatch.enqueue(jobs);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      await dispatch.done(i);
      const bytes = await o.store.get(job.resultKey);
      const flat = decodeFlat(bytes, job.resultKey);
      const meta = PredictResultMetaSchema.safeParse(flat.meta);
      const tiles = flat.arrays.tiles;
      const want = Array.from({ length: job.end - job.start }, (_, k) => o.tileBytes(job.start + k));
      const why = !meta.success
        ? `header invalid (${meta.error.issues[0]?.path.join('.')}: ${meta.error.issues[0]?.message})`
        : meta.data.predict !== id || meta.data.start !== job.start || meta.data.end !== job.end
          ? `it holds tiles ${meta.data.start}-${meta.data.end - 1} of prediction ${meta.data.predict}`
          : meta.data.checkpointSha256 !== tpl.checkpointSha256
            ? `it was predicted with checkpoint sha256 ${meta.data.checkpointSha256}`
            : !(tiles instanceof Uint8Array) ||
                meta.data.tileBytes.join(',') !== want.join(',') ||
                tiles.length !== want.reduce((a, b) => a + b, 0)
              ? `its tiles are not the ${want.length} tile(s) of ${want.join(', ')} bytes expected`
              : meta.data.pixels.length !== o.classes
                ? `it counts ${meta.data.pixels.length} classes, the run has ${o.classes}`
                : undefined;
      if (why !== undefined || !meta.success || !(tiles instanceof Uint8Array)) {
        throw new Error(
          `${job.resultKey}: not the result of predict job tiles ${job.start}-${job.end - 1}: ${why}; workers of another version? update them and predict again`,
        );
      }
      let at = 0;
      for (let t = job.start; t < job.end; t++) {
        const n = want[t - job.start]!;
        await o.onTile(t, tiles.subarray(at, at + n));
        at += n;
      }
      meta.data.pixels.forEach((n, c) => (out.pixels[c]! += n));
      out.nodata += meta.data.nodata;
      by.add(meta.data.worker);
      await o.store.delete(job.resultKey);
    }
    failed = false;
  } finally {
    if (failed) await dispatch.cancel().catch(() => undefined);
    await dispatch.close();
    // Results of jobs not reached (a failure) or written twice (a retried job): none stays.
    const left = await o.store.list(keys.predictPrefix(id)).catch(() => []);
    await Promise.all(left.map((k) => o.store.delete(k).catch(() => undefined)));
  }
  out.workers = [...by].sort();
  return out;
}
