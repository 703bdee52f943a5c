// Quality benchmark (issue 11): each bundled preset trained exactly as a run trains it
// (the engine's train() loop with the in-process executor on a local store: the same
// jobs, batches, local/sync steps and evaluation jobs as a cluster run), for several
// seeds, scored per modality (seen / unseen) beside two fixed-slot baselines trained on
// the same samples and the same training views: the MLP of the demo and a k-NN
// (k = 5, the StatLog project's best method). Prints mean and spread (min-max) per model and modality, the
// seeds, the commands and the machine. Not a test.
//
//   npm run bench:quality -- [--preset statlog --preset sen2-scene] [--seeds 42,7,1234]
//       [--jobs 2] [--set train.rounds=30 ...] [--json]
//
// --jobs N runs N seeds at once in child processes (one tfjs thread each).

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedSlotLayout, selectBackend } from '@atomizer/model';
import { LocalStore, parseRunConfig, setPath, type RunConfig } from '@atomizer/protocol';
import { SensorCatalog } from '@atomizer/tokenizer';
import { Command } from 'commander';
import { baselineNormalisation, baselineRows, lastEvalRows, readBaselineData, type BaselineData, type DemoRow } from '../src/baselines.js';
import { resolveTrainConfig } from '../src/commands/run-config-options.js';
import { InProcessExecutor, train, type TrainResult } from '../src/engine/index.js';
import { PRESET_NAMES } from '../src/presets.js';
import { runChildJson } from './child-json.js';
import { formatSummary, summarise, type Summary } from './seed-summary.js';
import { SlotKnn } from './knn.js';

interface SeedRow {
  preset: string;
  seed: number;
  split: string;
  modality: string;
  seen: 'seen' | 'unseen';
  samples: number;
  atomizer: number;
  mlp?: number;
  knn?: number;
}

interface SeedResult {
  preset: string;
  seed: number;
  trainCpuSeconds: number;
  wallSeconds: number;
  rows: SeedRow[];
}

const cpuSeconds = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

function parseSet(list: string[]): Array<[string, unknown]> {
  return list.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set takes path=value (e.g. train.rounds=30), got '${s}'`);
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    return [s.slice(0, eq), value];
  });
}

async function configFor(preset: string, seed: number, sets: Array<[string, unknown]>): Promise<RunConfig> {
  const cfg = (await resolveTrainConfig({ config: preset })) as unknown as Record<string, unknown>;
  for (const [path, value] of sets) setPath(cfg, path, value);
  setPath(cfg, 'seed', seed);
  setPath(cfg, 'run', `quality-${preset.replace(/[^A-Za-z0-9-]/g, '-')}-s${seed}`);
  return parseRunConfig(cfg, `${preset} with --set ${sets.map(([p]) => p).join(', ')}`);
}

/** k-NN (k = 5, knn.ts) on fixed-slot vectors: one seeded training view per (sample, train modality) as the references. */
function knnAccuracy(result: TrainResult, data: BaselineData, rows: DemoRow[], seed: number): Map<string, number> {
  const { ctx } = result.prepared;
  const stats = baselineNormalisation(ctx);
  const knn = new SlotKnn(
    fixedSlotLayout(data.train, ctx.modalities.train, SensorCatalog.default()),
    data.train,
    ctx.modalities.train,
    stats,
    seed,
  );
  const all = [...ctx.modalities.train, ...ctx.modalities.val, ...ctx.modalities.test];
  const out = new Map<string, number>();
  for (const row of rows) {
    const m = all.find((x) => x.name === row.modality);
    const samples = data.eval.get(row.split);
    if (m === undefined || samples === undefined) continue;
    const correct = samples.filter((s) => knn.classify(knn.vector(s, m, stats)) === s.labels[0]).length;
    out.set(`${row.split}/${row.modality}`, correct / samples.length);
  }
  return out;
}

async function runSeed(
  preset: string,
  seed: number,
  sets: Array<[string, unknown]>,
  baselines: boolean,
  log: (s: string) => void,
): Promise<SeedResult> {
  const config = await configFor(preset, seed, sets);
  const dir = await mkdtemp(join(tmpdir(), 'atomizer-quality-'));
  try {
    const backend = await selectBackend('auto', () => undefined);
    const store = new LocalStore(dir);
    const executor = new InProcessExecutor(store, backend.name);
    const t0 = performance.now();
    const c0 = cpuSeconds();
    const result = await train({ store, executor, config, log: () => undefined });
    const trainCpuSeconds = cpuSeconds() - c0;
    const rows = lastEvalRows(result.evals).filter((r) => r.accuracy !== undefined);
    let knn = new Map<string, number>();
    if (baselines && result.prepared.ctx.manifest.task === 'single') {
      const data = await readBaselineData(store, result, rows);
      baselineRows(result, data, rows, config.seed);
      knn = knnAccuracy(result, data, rows, config.seed);
    }
    log(`${preset} seed ${seed}: trained in ${trainCpuSeconds.toFixed(0)} s CPU (backend ${backend.name}, ${result.round} rounds)`);
    return {
      preset,
      seed,
      trainCpuSeconds,
      wallSeconds: (performance.now() - t0) / 1000,
      rows: rows.map((r) => ({
        preset,
        seed,
        split: r.split,
        modality: r.modality,
        seen: r.seen,
        samples: r.samples,
        atomizer: r.accuracy!,
        ...(r.baselineAccuracy !== undefined ? { mlp: r.baselineAccuracy } : {}),
        ...(knn.has(`${r.split}/${r.modality}`) ? { knn: knn.get(`${r.split}/${r.modality}`)! } : {}),
      })),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Run one (preset, seed) in a child process of this script (--jobs). */
function runChild(preset: string, seed: number, passthrough: string[]): Promise<SeedResult> {
  return runChildJson<SeedResult>(
    fileURLToPath(import.meta.url),
    ['--preset', preset, '--seeds', String(seed), '--raw', ...passthrough],
    `${preset} seed ${seed}`,
  );
}

/** Median, mean and range of each model's accuracy over the rows (seeds) of one modality; a model without figures is left out. */
function summaries(rs: readonly SeedRow[]): { atomizer?: Summary; mlp?: Summary; knn?: Summary } {
  const out: { atomizer?: Summary; mlp?: Summary; knn?: Summary } = {};
  for (const model of ['atomizer', 'mlp', 'knn'] as const) {
    const s = summarise(rs.flatMap((r) => (r[model] !== undefined ? [r[model]] : [])));
    if (s !== undefined) out[model] = s;
  }
  return out;
}

async function main(): Promise<void> {
  const opts = new Command()
    .description('Quality benchmark: presets x seeds through the engine (in-process), Atomizer vs fixed-slot MLP and k-NN per modality')
    .option(
      '--preset <name>',
      `bundled preset or run config file (repeatable; default: ${PRESET_NAMES.join(', ')})`,
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--seeds <list>', 'comma-separated seeds', '42,7,1234')
    .option('--jobs <n>', 'seeds run at once, each in its own process', '1')
    .option(
      '--set <path=value>',
      'override a run-config value (repeatable), e.g. train.rounds=30',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--no-baselines', 'skip the fixed-slot baselines')
    .option('--json', 'print one JSON object')
    .option('--raw', 'internal: print one seed result as JSON (child mode)')
    .parse()
    .opts<{ preset: string[]; seeds: string; jobs: string; set: string[]; baselines: boolean; json?: boolean; raw?: boolean }>();
  const presets = opts.preset.length > 0 ? opts.preset : [...PRESET_NAMES];
  const seeds = opts.seeds.split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds takes non-negative integers, got '${opts.seeds}'`);
  const sets = parseSet(opts.set);
  const jobs = Math.max(1, Number(opts.jobs));
  const log = (s: string): void => void process.stderr.write(`${s}\n`);

  if (opts.raw === true) {
    const r = await runSeed(presets[0]!, seeds[0]!, sets, opts.baselines, log);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const tasks = presets.flatMap((p) => seeds.map((s) => ({ preset: p, seed: s })));
  const passthrough = [...opts.set.flatMap((s) => ['--set', s]), ...(opts.baselines ? [] : ['--no-baselines'])];
  const t0 = performance.now();
  const results: SeedResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
      while (next < tasks.length) {
        const t = tasks[next++]!;
        results.push(jobs > 1 ? await runChild(t.preset, t.seed, passthrough) : await runSeed(t.preset, t.seed, sets, opts.baselines, log));
      }
    }),
  );
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    load: loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  };
  const table: Array<{ preset: string; split: string; modality: string; seen: string; atomizer?: Summary; mlp?: Summary; knn?: Summary }> =
    [];
  for (const preset of presets) {
    const rows = results.filter((r) => r.preset === preset).flatMap((r) => r.rows);
    const keys = [...new Set(rows.map((r) => `${r.split}\u0000${r.modality}`))];
    for (const k of keys) {
      const [split, modality] = k.split('\u0000') as [string, string];
      const rs = rows.filter((r) => r.split === split && r.modality === modality);
      table.push({
        preset,
        split,
        modality,
        seen: rs[0]!.seen,
        ...summaries(rs),
      });
    }
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify({ presets, seeds, sets: Object.fromEntries(sets), machine, wallSeconds, table, results })}\n`);
    return;
  }
  console.log(
    `quality bench: presets ${presets.join(', ')}; seeds ${seeds.join(', ')}; ${opts.set.length > 0 ? `--set ${opts.set.join(' ')}; ` : ''}${wallSeconds.toFixed(0)} s wall`,
  );
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.load}`);
  for (const preset of presets) {
    const cpu = results.filter((r) => r.preset === preset).map((r) => r.trainCpuSeconds);
    console.log(
      `\n${preset}: accuracy, median / mean (min-max) over ${seeds.length} seeds; Atomizer training ${summarise(cpu)?.mean.toFixed(0) ?? '-'} s CPU per seed`,
    );
    console.log('| split | modality | seen | Atomizer | fixed-slot MLP | k-NN |\n|---|---|---|---|---|---|');
    for (const r of table.filter((t) => t.preset === preset)) {
      console.log(
        `| ${r.split} | ${r.modality} | ${r.seen} | ${formatSummary(r.atomizer)} | ${formatSummary(r.mlp)} | ${formatSummary(r.knn)} |`,
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
