import { getPath, parseRunConfig, runConfigLeaves, setPath, type RunConfig } from '@atomizer/protocol';

// What a `--resume` may change in a run's stored config (docs/cluster.md "Changing a
// running run"). A resumed run continues from its checkpoint with the same weights,
// optimizer state and data cursor, so only values that steer the coordinator's schedule
// may change; anything that changes what is trained, on what data, by which optimizer or
// in which number format (model, dataset, seed, mode, slices, augmentation, transport,
// queues the workers listen on, ...) would make the run a different one halfway through,
// and is refused: start a new run for it.

/** The run-config keys a resume may change, each with why it is safe. */
export const RESUME_SAFE_KEYS: Readonly<Record<string, string>> = {
  'train.rounds': 'the schedule length: more rounds train on from the checkpoint (never fewer than are done)',
  'train.lr': "learning-rate schedule: the coordinator computes each round's rate and sends it with the jobs",
  'train.minLr': 'learning-rate schedule',
  'train.warmupRounds': 'learning-rate schedule',
  'train.outerLr': 'learning rate of the outer step, which the coordinator takes (local mode)',
  'eval.every': 'evaluation cadence',
  'checkpoint.every': 'checkpoint cadence (checkpoints do not change the weights)',
  'checkpoint.keep': 'checkpoint retention',
  'checkpoint.keepResults': 'retention of slice results (debugging)',
  'rounds.quorum': 'when a round closes',
  'rounds.deadlineSeconds': 'when a round closes',
  'rounds.attempts': 'tries per slice',
  'train.reduce': 'where the sum is built: the coordinator or reducer jobs on the workers give the same bits',
  'train.reduceRanges': 'how many reducer jobs build the sum (train.reduce workers): the same bits',
};

/** One changed field: its dotted path and the stored and the given value. */
export interface ConfigChange {
  field: string;
  from: unknown;
  to: unknown;
}

/**
 * The fields whose value the user gave (`given`: a config file's keys and the flags given,
 * as `atomizer train` merges them; defaults are not in it) and that differ from `stored`.
 * `run` is the run's identity, never a change.
 */
export function diffGivenConfig(stored: RunConfig, given: Record<string, unknown>, source = 'run config'): ConfigChange[] {
  const parsed = parseRunConfig(given, source); // the given values, checked and normalised like the stored ones
  const out: ConfigChange[] = [];
  for (const leaf of runConfigLeaves()) {
    if (leaf.path === 'run' || getPath(given, leaf.path) === undefined) continue;
    const from = getPath(stored, leaf.path);
    const to = getPath(parsed, leaf.path);
    if (!Object.is(from, to)) out.push({ field: leaf.path, from, to });
  }
  return out;
}

/** `train.rounds: 40 -> 45` */
export function formatChange(c: ConfigChange): string {
  return `${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`;
}

/**
 * Check the changes a resume of `run` would apply, `roundsDone` being the round of the
 * checkpoint it continues from. Throws one line naming every field that may not change
 * (nothing has been written yet when this is called), or a train.rounds that would not
 * leave a round to train.
 */
export function checkResumeChanges(changes: readonly ConfigChange[], run: string, roundsDone: number): void {
  const refused = changes.filter((c) => RESUME_SAFE_KEYS[c.field] === undefined);
  if (refused.length > 0) {
    throw new Error(
      `cannot resume run '${run}' with ${refused.map((c) => `${c.field} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`).join(', ')}: ` +
        `${refused.length === 1 ? 'it changes' : 'these change'} what the run trains; start a new run (another --run id) for that, ` +
        `or resume with the run's values (a resume may change only ${Object.keys(RESUME_SAFE_KEYS).join(', ')})`,
    );
  }
  const rounds = changes.find((c) => c.field === 'train.rounds');
  if (rounds !== undefined && (rounds.to as number) <= roundsDone) {
    throw new Error(
      `cannot resume run '${run}' with train.rounds ${JSON.stringify(rounds.to)}: ${roundsDone} rounds are already done (the resume continues after the checkpoint of round ${roundsDone}); ` +
        `give more than ${roundsDone}, or leave train.rounds at ${JSON.stringify(rounds.from)}`,
    );
  }
}

/** `config` with the changes applied (a copy), checked against the schema. */
export function applyChanges(config: RunConfig, changes: readonly ConfigChange[]): RunConfig {
  const next = structuredClone(config) as unknown as Record<string, unknown>;
  for (const c of changes) setPath(next, c.field, c.to);
  return parseRunConfig(next, 'the resumed run config');
}
