// A stored checkpoint (safetensors) as the run's flat weight vector, refused
// when it was written for another model config than the run's: what
// `atomizer eval`, `atomizer predict` and a worker's predict job load.

import { loadCheckpoint, paramTableOf } from '@atomizer/model';
import type { RunContext } from './run-context.js';

/** The weights of checkpoint `bytes` (stored at `key`) for the run of `ctx`; another model config is an Error naming both. */
export function checkpointWeights(bytes: Uint8Array, key: string, ctx: RunContext): Float32Array {
  const cp = loadCheckpoint(bytes, key);
  const cpModel = cp.meta['model.sha256'];
  if (cpModel !== ctx.modelSha256) {
    throw new Error(
      `checkpoint ${key} is from another model config than run '${ctx.config.run}' (model sha256 ${cpModel ?? '(none in the checkpoint)'}, the run's ${ctx.modelSha256}); ` +
        'evaluate it with the run that wrote it, or pick a checkpoint of this run',
    );
  }
  return paramTableOf(ctx.model).fromTensors(cp.weights);
}
