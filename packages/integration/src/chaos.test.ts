import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos/suite.js';

// Issue 14: one trial of every fault of the chaos suite (`npm run chaos` runs more):
// Redis restarted with and without persistence and past the outage budget, S3 down 10 s
// and 60 s, the coordinator SIGKILLed and resumed with another worker count, workers
// SIGKILLed three times (main and compute process), a second coordinator on the same
// run, a full cache disk. Each run ends with the bits of an uninterrupted run.

describe('chaos', () => {
  it(
    'every fault: the run completes with the final weights and optimizer state of an uninterrupted run',
    async () => {
      const lines: string[] = [];
      const report = await runChaos({ trials: 1, log: (l) => (lines.push(l), process.stderr.write(`${l}\n`)) });
      for (const f of report.faults) {
        // The full-cache-disk fault needs root (a tmpfs mount); CI runs as root.
        if (f.unavailable !== undefined && process.getuid?.() !== 0) continue;
        expect({ fault: f.name, completed: f.completed, identical: f.identical }, lines.join('\n')).toEqual({
          fault: f.name,
          completed: 1,
          identical: 1,
        });
      }
    },
    40 * 60_000,
  );
});
