// The range reducer jobs alone (train.reduce: workers, issue 13): N stub results of P values
// written to a local folder store, then reduced as a round does with R reducer jobs, run one
// after the other in this process through the worker's own job code (the in-process
// executor): each reads its range of every result (ranged reads, chunk hashes), folds it in
// float64 and writes its mean; the coordinator side reads and checks the R outputs. No
// workers and no Redis: what one reducer job costs per value it folds, and what the
// coordinator reads, on this machine, whatever else shares it.
//
//   npx tsx --conditions=@atomizer/source packages/coordinator/bench/reduce-job.bench.ts [--params 60238726] [--results 8] [--ranges 8]
//                                                                                       [--transport f32|bf16] [--json]
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { float32ToBFloat16Bits } from '@atomizer/model';
import { LocalStore, runKeys } from '@atomizer/protocol';
import { stubUpdate } from '@atomizer/worker';
import { InProcessExecutor } from '../src/engine/executor.js';
import { putAccepted } from '../src/engine/testing/accepted-result.js';
import { WorkerReduce } from '../src/engine/worker-reduce.js';
import type { AcceptedTrainResult } from '../src/engine/results.js';

const { values } = parseArgs({
  options: {
    params: { type: 'string', default: '60238726' },
    results: { type: 'string', default: '8' },
    ranges: { type: 'string', default: '8' },
    transport: { type: 'string', default: 'f32' },
    json: { type: 'boolean', default: false },
  },
});
const P = Number(values.params);
const N = Number(values.results);
const R = Number(values.ranges);
if (![P, N, R].every((x) => Number.isInteger(x) && x >= 1)) throw new Error('--params, --results, --ranges: positive integers');
const fmt = values.transport;
if (fmt !== 'f32' && fmt !== 'bf16') throw new Error(`--transport: f32 or bf16, got ${fmt}`);
const say = (m: string): void => void process.stderr.write(`${m}\n`);

const dir = await mkdtemp(join(tmpdir(), 'atomizer-reduce-bench-'));
const rows: Array<Record<string, number>> = [];
try {
  const store = new LocalStore(dir);
  const run = 'reduce-bench';
  const accepted: AcceptedTrainResult[] = [];
  say(`writing ${N} results of ${P} values...`);
  for (let j = 0; j < N; j++) {
    const update = stubUpdate({ seed: 1 + j }, P);
    const values = fmt === 'f32' ? update : float32ToBFloat16Bits(update);
    accepted.push(await putAccepted(store, runKeys(run).result(1, j), j, values, { samples: 4, loss: 1 }, fmt, P));
  }
  const executor = new InProcessExecutor(store, 'bench', 'stub');
  for (let rep = 0; rep < 2; rep++) {
    const wr = new WorkerReduce({
      store,
      executor,
      keys: runKeys(run),
      run,
      round: 1,
      params: P,
      transport: fmt,
      mean: new Float32Array(P),
      ranges: R,
      attempts: 1,
    });
    for (const r of accepted) wr.offer(r);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await wr.finish(accepted.map((r) => r.job));
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const j = wr.rangeJobs;
    const folded = N * P; // values folded over all ranges
    const row = {
      bf16: fmt === 'bf16' ? 1 : 0,
      params: P,
      results: N,
      ranges: j.jobs,
      wallMsPerRange: wall / j.jobs,
      cpuMsPerRange: (cpu.user + cpu.system) / 1000 / j.jobs,
      readMsPerRange: j.readMs / j.jobs,
      foldMsPerRange: j.foldMs / j.jobs,
      uploadMsPerRange: j.uploadMs / j.jobs,
      bytesInPerRange: j.bytesIn / j.jobs,
      foldNsPerValue: (j.foldMs * 1e6) / folded,
      cpuNsPerValue: ((cpu.user + cpu.system) * 1000) / folded,
      coordinatorReadBytes: wr.stats.bytesRead,
      load1: loadavg()[0] ?? Number.NaN,
    };
    if (rep === 1) rows.push(row); // the first warms the JIT and the page cache
    say(
      `  rep ${rep}: ${row.ranges} ranges, each ${(row.bytesInPerRange / 2 ** 20).toFixed(1)} MiB read in ${row.readMsPerRange.toFixed(0)} ms, folded in ${row.foldMsPerRange.toFixed(0)} ms (${row.foldNsPerValue.toFixed(2)} ns/value; hash, finiteness, float64 adds), output ${row.uploadMsPerRange.toFixed(0)} ms; CPU ${row.cpuNsPerValue.toFixed(2)} ns/value in all; coordinator read ${(row.coordinatorReadBytes / 2 ** 20).toFixed(1)} MiB; load ${row.load1.toFixed(1)}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (values.json) process.stdout.write(`${JSON.stringify({ cpus: cpus().length, cpu: cpus()[0]?.model, rows })}\n`);
