import { cpus, hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { runChaos } from '../src/chaos/suite.js';

// npm run chaos [-- --trials N] [--faults a,b] [--json]: the chaos suite (issue 14) on a
// real cluster of this machine. Prints one line per trial on stderr and a table (or, with
// --json, {"faults": [{name, trials, completed, identical}], ...}) on stdout.

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '1' },
    faults: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('npm run chaos -- [--trials N] [--faults redis-restart,s3-down-10s,...] [--json]\n');
  process.exit(0);
}
const trials = Number(values.trials);
if (!Number.isInteger(trials) || trials < 1) {
  process.stderr.write(`chaos: --trials takes a positive integer, got '${values.trials}'\n`);
  process.exit(2);
}
const started = new Date();
const report = await runChaos({
  trials,
  ...(values.faults !== undefined
    ? {
        only: values.faults
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      }
    : {}),
  log: (l) => process.stderr.write(`[${new Date().toISOString()}] ${l}\n`),
});
const machine = {
  host: hostname(),
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  started: started.toISOString(),
  minutes: (Date.now() - started.getTime()) / 60_000,
};
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ faults: report.faults.map(({ name, trials: n, completed, identical, unavailable, seconds }) => ({ name, trials: n, completed, identical, ...(unavailable ? { unavailable } : {}), seconds: Math.round(seconds * 10) / 10 })), machine })}\n`,
  );
} else {
  process.stdout.write(
    `\nchaos suite, ${trials} trial(s) per fault, ${machine.cpus} x ${machine.cpu}, Node ${machine.node}, ${machine.minutes.toFixed(1)} min\n`,
  );
  process.stdout.write('| fault | trials | completed | identical | s per trial |\n|---|---|---|---|---|\n');
  for (const f of report.faults) {
    process.stdout.write(`| ${f.name} | ${f.trials} | ${f.completed} | ${f.identical} | ${f.unavailable ?? f.seconds.toFixed(1)} |\n`);
  }
}
const ok = report.faults.every((f) => f.unavailable !== undefined || (f.completed === f.trials && f.identical === f.trials));
process.exit(ok ? 0 : 1);
