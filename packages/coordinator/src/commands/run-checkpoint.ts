// A stored run as eval and predict use it: the store checked to answer, the
// run's config and manifest (an unknown run is an error listing the runs
// there), a checkpoint verified against latest.json and the run's model
// config, and the ground footprint of the run's training samples.

import { getIfExists, runKeys, sha256Hex, type ObjectStore } from '@atomizer/protocol';
import { ShardReader } from '@atomizer/tokenizer';
import { checkpointWeights, loadRunContext, type RunContext } from '@atomizer/worker';
import { RunStore, runNotInStoreError } from '../run-store.js';

/** runs/<run>/config.json + manifest as a RunContext; a run not in the store is an error listing the runs there. */
export async function openRun(store: ObjectStore, run: string): Promise<RunContext> {
  const keys = runKeys(run);
  if ((await getIfExists(store, keys.config)) === undefined) throw await runNotInStoreError(store, run);
  return loadRunContext(store, keys.config);
}

/** The checkpoint's weights, verified: sha256 against latest.json where it names this checkpoint, model config against the run's. */
export async function loadRunCheckpoint(
  store: ObjectStore,
  ctx: RunContext,
  which = 'latest',
): Promise<{ weights: Float32Array; round: number; key: string; sha256: string; verified: boolean }> {
  const run = ctx.config.run;
  const keys = runKeys(run);
  const rs = new RunStore(store, run);
  const latest = await rs.latest('name a checkpoint round with --checkpoint <round>');
  let key: string;
  let round: number;
  if (which === 'latest') {
    if (latest === undefined) {
      throw new Error(
        `run '${run}' has no checkpoint yet (${keys.latestCheckpoint} missing): let it reach a checkpoint (checkpoint.every) or name one with --checkpoint <round>`,
      );
    }
    ({ key, round } = latest);
  } else {
    if (!/^\d+$/.test(which)) throw new Error(`--checkpoint takes 'latest' or a round number, got '${which}'`);
    round = Number(which);
    key = keys.checkpoint(round, 'state.safetensors');
  }
  const bytes = await getIfExists(store, key);
  if (bytes === undefined) {
    const have = await rs.checkpointRounds();
    throw new Error(
      `checkpoint ${key} of run '${run}' is not in the store; ` +
        (have.length > 0
          ? `checkpoints kept: rounds ${have.join(', ')} (use --checkpoint <round> or latest)`
          : 'the run has no checkpoint kept'),
    );
  }
  const sha256 = sha256Hex(bytes);
  const verified = latest !== undefined && latest.key === key;
  if (verified && sha256 !== latest!.sha256) {
    throw new Error(
      `checkpoint ${key} does not match the sha256 in ${keys.latestCheckpoint} (${sha256} vs ${latest!.sha256}): it was overwritten or damaged; pick another --checkpoint <round>`,
    );
  }
  const weights = checkpointWeights(bytes, key, ctx);
  return { weights, round, key, sha256, verified };
}

/** Side in metres of the run's first training sample (finest band), the footprint tiles copy. */
export async function trainingFootprintM(store: ObjectStore, ctx: RunContext): Promise<number | undefined> {
  const shard = ctx.manifest.shards.train[0] ?? ctx.manifest.shards.test[0];
  if (shard === undefined) return undefined;
  const reader = ShardReader.fromBytes(await store.get(shard.key), { name: shard.key });
  const s = await reader.get(0);
  const fine = s.bands.reduce((a, b) => (b.gsdM < a.gsdM ? b : a));
  return Math.max(fine.width, fine.height) * fine.gsdM;
}
