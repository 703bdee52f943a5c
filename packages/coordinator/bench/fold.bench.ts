// The coordinator's aggregation alone (issue 13): N stub results of P values written to a
// local folder store, then folded as a round does (header check, one read at each result's
// turn, R range reducer threads), the mean, and the AdamW step with its finiteness check,
// for each R asked. No workers and no Redis: what the coordinator costs per result and per
// round on this machine, whatever else shares it.
//
//   npx tsx --conditions=@atomizer/source packages/coordinator/bench/fold.bench.ts [--params 60238726] [--results 8] [--ranges 1,2] [--json]
//
// "last result" is the fold of the last result alone (what is left after a round closes
// when the results came in job-id order); "step" the norm, clipping, AdamW and the check.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalStore, encodeFlat, parseRunConfig } from '@atomizer/protocol';
import { stubUpdate } from '@atomizer/worker';
import { OrderedFold } from '../src/engine/ordered-fold.js';
import { makeOptimizers, optimizerStep } from '../src/engine/optimizers.js';
import { FLAT_CHUNK_BYTES } from '@atomizer/protocol';
import { planRanges } from '@atomizer/protocol';
import { RangeReducers } from '../src/engine/range-reducers.js';
import { readHeaderOf, type AcceptedTrainResult } from '../src/engine/results.js';

const { values } = parseArgs({
  options: {
    params: { type: 'string', default: '60238726' },
    results: { type: 'string', default: '8' },
    ranges: { type: 'string', default: '1,2' },
    json: { type: 'boolean', default: false },
  },
});
const P = Number(values.params);
const N = Number(values.results);
const Rs = values.ranges.split(',').map(Number);
if (!Number.isInteger(P) || P < 1 || !Number.isInteger(N) || N < 1 || Rs.some((r) => !Number.isInteger(r) || r < 1)) {
  throw new Error('--params, --results, --ranges: positive integers');
}
const say = (m: string): void => void process.stderr.write(`${m}\n`);
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const dir = await mkdtemp(join(tmpdir(), 'atomizer-fold-bench-'));
const rows: Array<Record<string, number>> = [];
try {
  const store = new LocalStore(dir);
  const accepted: AcceptedTrainResult[] = [];
  say(`writing ${N} results of ${P} values...`);
  for (let j = 0; j < N; j++) {
    const key = `r/${j}.bin`;
    const meta = { kind: 'train-result', job: j, samples: 4, loss: 1 };
    await store.put(key, encodeFlat(meta, { update: stubUpdate({ seed: 1 + j }, P) }));
    const { header } = await readHeaderOf(store, key);
    accepted.push({
      job: j,
      reply: { resultKey: key } as AcceptedTrainResult['reply'],
      meta: meta as unknown as AcceptedTrainResult['meta'],
      payloadSha256: header.payloadSha256,
      layout: {
        fmt: 'f32',
        length: P,
        payloadOffset: header.payloadOffset,
        payloadEnd: header.payloadEnd,
        ...(header.chunks ? { chunks: header.chunks } : {}),
      },
    });
  }
  const cfg = parseRunConfig({ run: 'fold-bench', train: { clipNorm: 1 } });
  for (const R of Rs) {
    const plan = planRanges(P, N, { cores: R, alignTo: FLAT_CHUNK_BYTES / 4 });
    if (plan.ranges.length !== R) say(`  (R = ${R} asked, the plan gives ${plan.ranges.length}: ${plan.reason})`);
    const reducers = new RangeReducers(plan.ranges, P);
    const opt = makeOptimizers(cfg, P, [{ offset: 0, length: P }], true);
    const weights = new Float32Array(new SharedArrayBuffer(4 * P));
    try {
      for (let rep = 0; rep < 2; rep++) {
        const fold = new OrderedFold({ store, reducers, round: rep + 1 });
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (const r of accepted.slice(0, -1)) fold.offer(r);
        await fold.settle(
          accepted.slice(0, -1).map((r) => r.job),
          false,
        );
        while (fold.stats.folded < N - 1) await new Promise((res) => setTimeout(res, 5));
        const t1 = performance.now();
        fold.offer(accepted.at(-1)!);
        const mean = await fold.finish(accepted.map((r) => r.job));
        const t2 = performance.now();
        await optimizerStep(cfg, opt, weights, mean.grads, 1e-3, rep + 1, reducers);
        const t3 = performance.now();
        const row = {
          params: P,
          results: N,
          ranges: plan.ranges.length,
          foldMsPerResult: (t1 - t0) / (N - 1),
          lastResultAndMeanMs: t2 - t1,
          stepMs: t3 - t2,
          afterCloseMs: t3 - t1,
          cpuMsPerResult: cpuMs(c0) / N,
          load1: loadavg()[0] ?? Number.NaN,
        };
        if (rep === 1) rows.push(row); // the first warms the JIT and the page cache
        say(
          `  R=${row.ranges} rep ${rep}: fold ${row.foldMsPerResult.toFixed(0)} ms/result, last result + mean ${row.lastResultAndMeanMs.toFixed(0)} ms, step ${row.stepMs.toFixed(0)} ms, CPU ${row.cpuMsPerResult.toFixed(0)} ms/result, load ${row.load1.toFixed(1)}`,
        );
      }
    } finally {
      await reducers.close();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (values.json) process.stdout.write(`${JSON.stringify({ cpus: cpus().length, cpu: cpus()[0]?.model, rows })}\n`);
