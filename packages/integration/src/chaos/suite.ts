import { selectBackend } from '@atomizer/model';
import { startCluster, type WorkerProc } from '../harness.js';
import { FAULTS } from './faults.js';
import { referenceFingerprint, runTrial, type Fault, type TrialResult } from './trial.js';

// The chaos suite (issue 14): every fault, N trials each, on one real cluster; the summary
// `npm run chaos -- --json` prints and the CI test asserts.

export interface FaultSummary {
  name: string;
  trials: number;
  completed: number;
  identical: number;
  /** Why the fault was not run here, if it was not. */
  unavailable?: string;
  /** Mean seconds per trial. */
  seconds: number;
}

export interface ChaosReport {
  faults: FaultSummary[];
  trials: TrialResult[];
}

export interface ChaosOptions {
  trials: number;
  /** Fault names to run (default all). */
  only?: string[];
  log?: (line: string) => void;
}

export function selectFaults(only: string[] | undefined): Fault[] {
  if (only === undefined || only.length === 0) return FAULTS;
  const unknown = only.filter((n) => !FAULTS.some((f) => f.name === n));
  if (unknown.length > 0) throw new Error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.map((f) => f.name).join(', ')}`);
  return FAULTS.filter((f) => only.includes(f.name));
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const faults = selectFaults(opts.only);
  await selectBackend('wasm', () => undefined);
  const cluster = await startCluster();
  const workers = new Map<string, WorkerProc>();
  const trials: TrialResult[] = [];
  const summaries: FaultSummary[] = [];
  try {
    // The uninterrupted run of each run length the faults use, computed once.
    const references = new Map<number, Promise<string>>();
    const reference = (rounds: number): Promise<string> => {
      let p = references.get(rounds);
      if (p === undefined) {
        log(`chaos: the uninterrupted reference run (${rounds} rounds)`);
        p = referenceFingerprint(cluster, rounds);
        references.set(rounds, p);
      }
      return p;
    };
    await reference(10);
    for (const fault of faults) {
      const why = fault.unavailable?.();
      if (why !== undefined) {
        log(`chaos: ${fault.name}: not run here (${why})`);
        summaries.push({ name: fault.name, trials: 0, completed: 0, identical: 0, unavailable: why, seconds: 0 });
        continue;
      }
      const mine: TrialResult[] = [];
      for (let t = 1; t <= opts.trials; t++) {
        const r = await runTrial(cluster, fault, t, reference, workers);
        mine.push(r);
        trials.push(r);
        log(
          `chaos: ${fault.name} trial ${t}/${opts.trials}: ${r.completed ? 'completed' : 'NOT completed'}, ${r.identical ? 'identical' : 'NOT identical'}, ${r.seconds.toFixed(1)} s${r.notes.length > 0 ? `; ${r.notes.join('; ')}` : ''}`,
        );
      }
      summaries.push({
        name: fault.name,
        trials: mine.length,
        completed: mine.filter((r) => r.completed).length,
        identical: mine.filter((r) => r.identical).length,
        seconds: mine.reduce((a, r) => a + r.seconds, 0) / mine.length,
      });
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.kill('SIGTERM')));
    await cluster.stop();
  }
  return { faults: summaries, trials };
}
