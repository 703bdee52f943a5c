import type { StoredRun } from '@atomizer/protocol';
import type { RunStore } from '../run-store.js';
import { applyChanges, checkResumeChanges, diffGivenConfig, formatChange } from './config-changes.js';

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

/**
 * The run as it continues: its stored config with the given safe changes applied and
 * recorded, or undefined when the run has no stored config yet (a first start).
 */
export async function applyResumeChanges(runStore: RunStore, opts: ResumeChangesOptions): Promise<StoredRun | undefined> {
  const stored = await runStore.config();
  if (stored === undefined) return undefined;
  const changes = diffGivenConfig(stored.config, opts.given, opts.source);
  if (changes.length === 0) return stored;
  const latest = await runStore.latest('delete it to resume from an older checkpoint by hand');
  const round = latest?.round ?? 0;
  checkResumeChanges(changes, runStore.run, round);
  const updated: StoredRun = { ...stored, config: applyChanges(stored.config, changes) };
  await runStore.writeConfig(updated);
  await runStore.appendConfigChange({ time: (opts.now ?? new Date()).toISOString(), round, changes });
  const log = opts.log ?? (() => undefined);
  log(`run ${runStore.run}: applying ${changes.length} config change${changes.length === 1 ? '' : 's'} from round ${round + 1} (recorded in ${runStore.keys.configChanges}):`);
  for (const c of changes) log(`  ${formatChange(c)}`);
  return updated;
}
