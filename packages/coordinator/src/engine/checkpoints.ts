import { initParams, loadCheckpoint, saveCheckpoint, type paramTableOf } from '@atomizer/model';
import { sha256Hex } from '@atomizer/protocol';
import type { RunStore } from '../run-store.js';
import type { DataCursor } from './data-plan.js';
import type { OptimizerState } from './optimizers.js';
import type { PreparedRun } from './run-setup.js';

// What a resume needs (weights, optimizer state, data cursor) written as one
// safetensors checkpoint per checkpointed round, latest.json naming the newest, and
// the oldest beyond `checkpoint.keep` deleted with their local-mode inner states
// (which the workers wrote as scratch and the checkpoint persists).

type ParamTable = ReturnType<typeof paramTableOf>;

export interface TrainState {
  /** In shared memory: the range reducer threads step their ranges of it in place. */
  weights: Float32Array;
  cursor: DataCursor;
  /** The first round still to train. */
  startRound: number;
}

/**
 * The state a run starts from: its latest checkpoint when resuming (verified against
 * latest.json's sha256 and the run's model config; the optimizer state is loaded into
 * `opt`), fresh weights otherwise.
 */
export async function startState(
  runStore: RunStore,
  prepared: PreparedRun,
  table: ParamTable,
  opt: OptimizerState,
  resume: boolean,
  log: (m: string) => void,
): Promise<TrainState> {
  const { run, ctx } = prepared;
  const fresh = (): TrainState => ({
    weights: inSharedMemory(initParams(ctx.model, ctx.config.seed)),
    cursor: { epoch: 0, position: 0 },
    startRound: 1,
  });
  if (!resume) return fresh();
  const keys = runStore.keys;
  const latest = await runStore.latest('delete it to resume from an older checkpoint by hand');
  if (latest === undefined) {
    log(`run ${run}: no checkpoint yet (${keys.latestCheckpoint}); starting from round 1`);
    return fresh();
  }
  const bytes = await runStore.store.get(latest.key);
  if (sha256Hex(bytes) !== latest.sha256) throw new Error(`checkpoint ${latest.key} does not match the sha256 in ${keys.latestCheckpoint}`);
  const cp = loadCheckpoint(bytes, latest.key);
  if (cp.meta['model.sha256'] !== ctx.modelSha256) throw new Error(`checkpoint ${latest.key} is from another model config than run ${run}`);
  opt.adam?.loadTensors(cp.optimizerState);
  opt.outer?.loadTensors(cp.optimizerState);
  log(`run ${run}: resuming after round ${latest.round} from ${latest.key}`);
  return {
    weights: inSharedMemory(table.fromTensors(cp.weights)),
    cursor: JSON.parse(cp.meta.cursor ?? '{"epoch":0,"position":0}') as DataCursor,
    startRound: latest.round + 1,
  };
}

/** A copy of `a` in shared memory (the original is left to the garbage collector: no second copy of the weights kept). */
function inSharedMemory(a: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

export async function writeCheckpoint(
  runStore: RunStore,
  round: number,
  table: ParamTable,
  weights: Float32Array,
  opt: OptimizerState,
  cursor: DataCursor,
  modelSha: string,
  keep: number,
): Promise<void> {
  const keys = runStore.keys;
  // Every inner state the round left (local mode; late and refused slices' too: a resume
  // gives each slot the key), written as scratch by the workers, made durable before the
  // checkpoint names the round.
  const inner = await runStore.store.list(keys.innerStatePrefix(round));
  await Promise.all(inner.map((k) => runStore.store.persist(k)));
  const optimizerState = opt.adam?.toTensors() ?? opt.outer?.toTensors() ?? {};
  const bytes = saveCheckpoint({
    weights: table.toTensors(weights),
    optimizerState,
    meta: { run: runStore.run, round: String(round), cursor: JSON.stringify(cursor), 'model.sha256': modelSha },
  });
  const key = keys.checkpoint(round, 'state.safetensors');
  await runStore.store.put(key, bytes);
  // latest.json last: a crash before this line leaves the previous checkpoint as latest.
  await runStore.writeLatest({ round, key, sha256: sha256Hex(bytes), time: new Date().toISOString() });
  const old = (await runStore.checkpointRounds()).reverse().slice(keep);
  for (const r of old) {
    await runStore.deletePrefix(keys.checkpointPrefix(r));
    await runStore.deletePrefix(keys.innerStatePrefix(r));
  }
}
