// In-process preset experiment (issue 5: Statlog, the demo's default, and the
// Sentinel-2 scene preset): the Atomizer
// model trained in one process exactly as a sync-mode run does it (one Adam
// step per round on the gradient of slices x sliceSamples samples, cosine
// schedule with warm-up, AdamW, global-norm clipping), and evaluated on the
// standard Statlog test split per modality, seen and unseen; optionally the
// fixed-slot MLP baseline on the same samples and modalities. Not a test: it
// prints the figures of docs/benchmarks.md, "Statlog: seen vs unseen modalities".
//
//   npx tsx --conditions=@atomizer/source packages/coordinator/bench/preset-inprocess.ts \
//     [--config statlog|sen2-scene|<run.yaml>] [--rounds 300] [--augment-nm 0] [--baseline] [--json]
//
// Times are CPU seconds of this process (one wasm thread): a 2-worker run
// splits the gradient work of each round over two processes.

import { Command } from 'commander';
import {
  Adam,
  cosineSchedule,
  gradients,
  initParams,
  macroF1,
  modelConfig,
  overallAccuracy,
  paramTableOf,
  predict,
  selectBackend,
  splitRows,
  trainFixedSlotBaseline,
  evaluateFixedSlotBaseline,
  type ModelConfig,
} from '@atomizer/model';
import { evalSplits, type RunConfig } from '@atomizer/protocol';
import {
  BandStatsAccumulator,
  SeededRng,
  applyModality,
  atomize,
  deriveSeed,
  makeBatch,
  readDataset,
  seenTag,
  subsampleAtoms,
  trainAtoms,
  type AtomSet,
  type Modality,
  type ModalityLists,
  type Sample,
  type TrainRecipe,
} from '@atomizer/tokenizer';
import { trainRecipe } from '@atomizer/worker';
import { loadPreset } from '../src/presets.js';

interface Row {
  model: string;
  modality: string;
  tag: 'seen' | 'unseen';
  accuracy: number;
  macroF1: number;
  samples: number;
}

function cpuSeconds(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

function atomsOf(sample: Sample, m: Modality, recipe: TrainRecipe, mode: 'train' | 'eval', rng: SeededRng): AtomSet {
  const view = applyModality(sample, m, { mode, rng });
  return atomize(view, { stats: recipe.stats, normalize: recipe.normalize ?? 'zscore' }).atoms;
}

async function main(): Promise<void> {
  const opts = new Command()
    .description('Train the Atomizer model (and the fixed-slot baseline) on a preset in one process; evaluate per modality')
    .option('--config <file>', 'preset name (statlog, sen2-scene) or run config YAML', 'statlog')
    .option('--rounds <n>', 'override train.rounds')
    .option('--lr <x>', 'override train.lr')
    .option('--batch <n>', 'override samples per round (slices x sliceSamples)')
    .option('--overrides <json>', 'override model.overrides (JSON)')
    .option('--preset <name>', 'override model.preset')
    .option(
      '--augment-nm <J>',
      "spectral augmentation: centre shift U(-J, J) nm, width x 2^U(-1,1); 0 off (default: the config's train.augment)",
    )
    .option('--seed <n>', 'override seed')
    .option('--eval-every <n>', 'also evaluate every N rounds (seen/unseen accuracy curve)', '0')
    .option('--no-atomizer', 'skip the Atomizer model')
    .option('--baseline', 'also train and evaluate the fixed-slot MLP baseline')
    .option('--baseline-epochs <n>', 'baseline epochs', '30')
    .option('--json', 'print the result rows as JSON')
    .parse()
    .opts<{
      config: string;
      rounds?: string;
      lr?: string;
      batch?: string;
      overrides?: string;
      preset?: string;
      augmentNm?: string;
      seed?: string;
      evalEvery: string;
      atomizer: boolean;
      baseline?: boolean;
      baselineEpochs: string;
      json?: boolean;
    }>();

  const preset = await loadPreset(opts.config);
  const cfg: RunConfig = preset.config;
  if (opts.rounds !== undefined) cfg.train.rounds = Number(opts.rounds);
  if (opts.lr !== undefined) cfg.train.lr = Number(opts.lr);
  if (opts.overrides !== undefined) cfg.model.overrides = opts.overrides;
  if (opts.preset !== undefined) cfg.model.preset = opts.preset;
  if (opts.seed !== undefined) cfg.seed = Number(opts.seed);
  const batchSize = opts.batch !== undefined ? Number(opts.batch) : cfg.train.slices * cfg.train.sliceSamples;
  // --augment-nm overrides the run's spectral jitter.
  const jitter = opts.augmentNm !== undefined ? Number(opts.augmentNm) : cfg.train.augment ? cfg.train.augmentJitterNm : 0;

  const lists: ModalityLists = preset.modalities;
  const evalMods = [...lists.train, ...lists.val, ...lists.test];

  const source = readDataset(cfg.dataset.source);
  const train: Sample[] = [];
  const test: Sample[] = [];
  const splits: string[] = evalSplits(cfg);
  for await (const item of source) {
    if (item.split === 'train') train.push(item.sample);
    else if (splits.includes(item.split)) test.push(item.sample);
  }
  const numClasses = source.classes?.length ?? 0;
  if (source.task !== 'single' || numClasses < 2) throw new Error(`${cfg.dataset.source}: this bench needs a single-label dataset`);
  const acc = new BandStatsAccumulator();
  for (const s of train) acc.add(s);
  const stats = new Map(acc.result().map((b) => [b.key, b]));
  // The worker's recipe for this config (normalisation, virtual sensors, dihedral, dropout), --augment-nm overriding the jitter.
  const recipe: TrainRecipe = { ...trainRecipe({ config: cfg, stats }), spectralJitterNm: jitter };

  const backend = await selectBackend('wasm');
  const rows: Row[] = [];
  const timing: Record<string, number> = {};
  const log = (s: string) => {
    if (opts.json !== true) console.log(s);
  };
  log(
    `${cfg.dataset.name}: backend ${backend.name} (${backend.detail}); train ${train.length}, ${splits.join('+')} ${test.length} samples, ${numClasses} classes`,
  );
  log(`train modalities: ${lists.train.map((m) => m.name).join(', ')}; eval: ${evalMods.map((m) => m.name).join(', ')}`);

  if (opts.atomizer) {
    const overrides = cfg.model.overrides === '' ? {} : (JSON.parse(cfg.model.overrides) as Record<string, unknown>);
    const mc: ModelConfig = modelConfig(cfg.model.preset, { ...overrides, numClasses, task: 'single' });
    const table = paramTableOf(mc);
    const w = initParams(mc, cfg.seed);
    const adam = new Adam(w.length, { weightDecay: cfg.train.weightDecay, decayRanges: table.ranges() });
    const schedule = cosineSchedule({
      peakLr: cfg.train.lr,
      minLr: cfg.train.minLr,
      totalSteps: cfg.train.rounds,
      warmupSteps: cfg.train.warmupRounds,
    });
    log(
      `atomizer: preset ${cfg.model.preset} ${cfg.model.overrides} (${w.length.toLocaleString('en-US')} parameters), ` +
        `${cfg.train.rounds} rounds x ${batchSize} samples, lr ${cfg.train.lr}, augment ${jitter} nm`,
    );

    const evaluate = (label: string): Row[] => {
      const out: Row[] = [];
      const rng = new SeededRng(deriveSeed(cfg.seed, 7));
      for (const m of evalMods) {
        const n = Math.min(test.length, cfg.eval.maxSamples);
        const logits: Float32Array[] = [];
        for (let s = 0; s < n; s += 250) {
          const chunk = test.slice(s, Math.min(n, s + 250));
          const batch = makeBatch(chunk.map((x) => subsampleAtoms(atomsOf(x, m, recipe, 'eval', rng), cfg.train.maxAtoms, rng)));
          logits.push(predict(w, batch, mc));
        }
        const flat = new Float32Array(logits.reduce((a, l) => a + l.length, 0));
        let o = 0;
        for (const l of logits) {
          flat.set(l, o);
          o += l.length;
        }
        const scores = splitRows(flat, mc.numClasses);
        const labels = test.slice(0, n).map((x) => x.labels[0] as number);
        out.push({
          model: label,
          modality: m.name,
          tag: seenTag(m, lists),
          accuracy: overallAccuracy(scores, labels, mc.numClasses),
          macroF1: macroF1(scores, labels, mc.numClasses).value,
          samples: n,
        });
      }
      return out;
    };

    const dataRng = new SeededRng(deriveSeed(cfg.seed, 1));
    let order: number[] = [];
    let cursor = 0;
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    let evalCpu = 0;
    const evalEvery = Number(opts.evalEvery);
    for (let r = 0; r < cfg.train.rounds; r++) {
      const sets: AtomSet[] = [];
      const labels: number[][] = [];
      for (let i = 0; i < batchSize; i++) {
        if (cursor >= order.length) {
          order = train.map((_, k) => k);
          for (let k = order.length - 1; k > 0; k--) {
            const j = dataRng.int(k + 1);
            [order[k], order[j]] = [order[j] as number, order[k] as number];
          }
          cursor = 0;
        }
        const sample = train[order[cursor++] as number] as Sample;
        const m = lists.train[dataRng.int(lists.train.length)] as Modality;
        const atoms = trainAtoms(sample, m, recipe, dataRng);
        if (atoms === undefined) continue;
        sets.push(atoms);
        labels.push(sample.labels);
      }
      const batch = makeBatch(sets);
      const g = gradients(w, batch, labels, mc, {
        seed: deriveSeed(cfg.seed, 2, r),
        ...(cfg.train.clipNorm > 0 ? { clipNorm: cfg.train.clipNorm } : {}),
      });
      adam.update(w, g.grads, schedule.lr(r));
      if (opts.json !== true && (r % 25 === 0 || r === cfg.train.rounds - 1)) {
        log(
          `  round ${r} loss ${g.loss.toFixed(4)} lr ${schedule.lr(r).toExponential(2)} cpu ${(cpuSeconds() - cpu0 - evalCpu).toFixed(1)} s`,
        );
      }
      if (evalEvery > 0 && (r + 1) % evalEvery === 0 && r + 1 < cfg.train.rounds) {
        const e0 = cpuSeconds();
        const mid = evaluate(`atomizer@${r + 1}`);
        evalCpu += cpuSeconds() - e0;
        log(`  eval @${r + 1}: ${mid.map((x) => `${x.modality} ${x.accuracy.toFixed(3)}`).join(', ')}`);
      }
    }
    const trainCpu = cpuSeconds() - cpu0 - evalCpu;
    const trainWall = (performance.now() - t0) / 1000;
    timing.atomizerTrainCpuSeconds = trainCpu;
    log(
      `atomizer trained: ${trainCpu.toFixed(1)} s CPU (${trainWall.toFixed(1)} s wall incl. evals), ${((cfg.train.rounds * batchSize) / trainCpu).toFixed(0)} samples/s CPU`,
    );
    const e0 = cpuSeconds();
    rows.push(...evaluate(jitter > 0 ? `atomizer+aug${jitter}` : 'atomizer'));
    log(`atomizer evaluated: ${(cpuSeconds() - e0).toFixed(1)} s CPU`);
  }

  if (opts.baseline === true) {
    const c0 = cpuSeconds();
    const trained = trainFixedSlotBaseline({
      samples: train,
      trainModalities: lists.train,
      stats,
      numClasses,
      seed: cfg.seed,
      epochs: Number(opts.baselineEpochs),
    });
    timing.baselineTrainCpuSeconds = cpuSeconds() - c0;
    log(
      `baseline trained: ${(cpuSeconds() - c0).toFixed(1)} s CPU, slots ${trained.layout.slots.map((s) => s.name).join(', ')} x ${trained.layout.width}x${trained.layout.height} pixels; loss by epoch ${trained.epochLoss.map((l) => l.toFixed(3)).join(' ')}`,
    );
    for (const m of evalMods) {
      const r = evaluateFixedSlotBaseline(trained, test.slice(0, cfg.eval.maxSamples), m);
      rows.push({
        model: 'fixed-slot MLP',
        modality: m.name,
        tag: seenTag(m, lists),
        accuracy: r.accuracy,
        macroF1: r.macroF1,
        samples: r.samples,
      });
      log(`  baseline ${m.name}: ${r.placement}`);
    }
  }

  if (opts.json === true) {
    console.log(JSON.stringify({ config: cfg, augmentNm: jitter, batchSize, backend: backend.detail, timing, rows }));
    return;
  }
  console.log('\n| model | modality | seen/unseen | accuracy | macro F1 | samples |\n|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.modality} | ${r.tag} | ${r.accuracy.toFixed(3)} | ${r.macroF1.toFixed(3)} | ${r.samples} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
