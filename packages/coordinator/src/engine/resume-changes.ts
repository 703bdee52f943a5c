import type { StoredRun } from '@atomizer/protocol';
import type { RunStore } from '../run-store.js';
import { applyChanges, checkResumeChanges, diffGivenConfig, formatChange, type ConfigChange } from './config-changes.js';

// `atomizer train --resume` with flags or a config file: the values the user gave are
// compared with the run's stored config; changes a running run can take (config-changes.ts)
// are applied to runs/<run>/config.json, printed one line per field and recorded in
// runs/<run>/config-changes.jsonl; any other change is refused before anything is written.

export interface ResumeChangesOptions {
  /** A config file's keys and the flags given, merged as `atomizer train` does (no defaults). */
  given: Record<string, unknown>;
  /** Names the given values in errors (the config file, or 'run config flags'). */
  source?: string;
  log?: (msg: string) => void;
  now?: Date;
}

/** What a resume will change, checked but not yet written (see planResumeChanges). */
export interface ResumePlan {
  /** The run as it continues: its stored config with the changes applied. */
  run: StoredRun;
  changes: ConfigChange[];
  /** The checkpoint round the changes apply after. */
  round: number;
}

/**
 * Check the given values against the run's stored config without writing anything: the
 * plan, or undefined when the run has no stored config yet (a first start). Refused
 * changes throw here, before the coordinator takes the run's lease.
 */
export async function planResumeChanges(runStore: RunStore, opts: ResumeChangesOptions): Promise<ResumePlan | undefined> {
  const stored = await runStore.config();
  if (stored === undefined) return undefined;
  const changes = diffGivenConfig(stored.config, opts.given, opts.source);
  if (changes.length === 0) return { run: stored, changes, round: 0 };
  const latest = await runStore.latest('delete it to resume from an older checkpoint by hand');
  const round = latest?.round ?? 0;
  checkResumeChanges(changes, runStore.run, round);
  return { run: { ...stored, config: applyChanges(stored.config, changes) }, changes, round };
}

/** Write a plan's changes (config.json, then a record in config-changes.jsonl) and print them; only the run's lease holder calls this. */
export async function recordResumeChanges(
  runStore: RunStore,
  plan: ResumePlan,
  opts: Pick<ResumeChangesOptions, 'log' | 'now'> = {},
): Promise<void> {
  const { changes, round } = plan;
  if (changes.length === 0) return;
  await runStore.writeConfig(plan.run);
  await runStore.appendConfigChange({ time: (opts.now ?? new Date()).toISOString(), round, changes });
  const log = opts.log ?? (() => undefined);
  log(
    `run ${runStore.run}: applying ${changes.length} config change${changes.length === 1 ? '' : 's'} from round ${round + 1} (recorded in ${runStore.keys.configChanges}):`,
  );
  for (const c of changes) log(`  ${formatChange(c)}`);
}

/**
 * Plan and record in one step (a caller that holds the run already): the run as it
 * continues, or undefined when the run has no stored config yet.
 */
export async function applyResumeChanges(runStore: RunStore, opts: ResumeChangesOptions): Promise<StoredRun | undefined> {
  const plan = await planResumeChanges(runStore, opts);
  if (plan === undefined) return undefined;
  await recordResumeChanges(runStore, plan, opts);
  return plan.run;
}
