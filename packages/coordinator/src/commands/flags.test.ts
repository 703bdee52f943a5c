import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RunConfigSchema, getPath, parseRunConfig, runConfigLeaves, setPath, type RunConfig, type RunConfigLeaf } from '@atomizer/protocol';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { atomsSettings } from './atoms.js';
import { dashboardSettings, type DashboardCliOptions } from './dashboard.js';
import { demoRunConfig, type DemoOptions } from './demo.js';
import { evalSettings, type EvalCliOptions } from './eval.js';
import { exportSettings, type ExportCliOptions } from './export.js';
import { COMMANDS, loadCommand } from './index.js';
import { launchPlan, type LaunchOptions } from './launch.js';
import { modelSettings, type ModelCliOptions } from './model.js';
import { predictSettings, type PredictCliOptions } from './predict.js';
import { reportSettings, type ReportCliOptions } from './report.js';
import { resolveTrainConfig, runConfigRules } from './run-config-options.js';
import { shardSettings, type ShardOptions } from './shard.js';
import { checkTrainOptions, type TrainCliOptions } from './train.js';
import { refuseUnusedOptions } from './unused-options.js';
import { workerSettings, type WorkerCliOptions } from './worker.js';

// Every flag of every command changes what the command does: for each option a command
// accepts (read from the command itself, so a new flag without a case here fails), the
// settings the command acts on - what it hands to the code that does the work, computed
// by the same functions its action calls - differ from those without the flag.

type Opts = Record<string, unknown>;
/** The flag's arguments, or those plus the flags it needs (compared with the needed flags alone). */
type Case = string[] | { args: string[]; with: string[] };

interface CommandTable {
  /** The arguments every run needs (required options, positionals). */
  base: string[];
  /** What the command does with these options. */
  effect: (opts: Opts, cmd: Command) => unknown;
  cases: Record<string, Case>;
}

const warnings: string[] = [];
const warn = (line: string): void => void warnings.push(line);
/** What storeFrom() and the Redis check take, in every command with those options. */
const endpoints = (o: Opts) => ({ s3: o.s3, s3Endpoint: o.s3Endpoint, outageBudget: o.outageBudget, redis: o.redis });

// Files the readers check exist (nothing is read from them here).
const dir = mkdtempSync(join(tmpdir(), 'atomizer-flags-'));
for (const f of ['data.csv', 'folder/x.tif']) {
  mkdirSync(dirname(join(dir, f)), { recursive: true });
  writeFileSync(join(dir, f), '');
}
writeFileSync(join(dir, 'lists.yaml'), 'train: [mss-all]\ntest: [mss-grn]\n');
beforeAll(() => {
  // Options that read the environment must see their defaults.
  for (const name of ['REDIS_URL', 'ATOMIZER_S3', 'ATOMIZER_OUTAGE_BUDGET', 'ATOMIZER_DASHBOARD_TOKEN']) vi.stubEnv(name, undefined);
});
afterAll(() => vi.unstubAllEnvs());

const endpointCases = (o: { redis?: boolean; outage?: boolean; queues?: boolean } = {}): Record<string, Case> => ({
  '--s3': ['--s3', '/tmp/other-store'],
  '--s3-endpoint': ['--s3-endpoint', 'http://127.0.0.1:9000'],
  ...(o.outage !== false ? { '--outage-budget': ['--outage-budget', '12'] } : {}),
  ...(o.redis !== false ? { '--redis': ['--redis', 'redis://10.0.0.5:6379'] } : {}),
  ...(o.queues === true ? { '--queue-prefix': ['--queue-prefix', 'lab'], '--train-queues': ['--train-queues', '3'] } : {}),
});

/** A value for a run-config flag other than the one `current` has (a valid one), with the flags it needs to be used. */
function leafCase(leaf: RunConfigLeaf, current: RunConfig): Case {
  const d = getPath(current, leaf.path);
  const valid = (v: unknown): boolean => {
    const cfg = {};
    setPath(cfg, leaf.path, v);
    return RunConfigSchema.safeParse(cfg).success;
  };
  let args: string[];
  if (leaf.kind === 'boolean') args = d === true ? [leaf.flag, 'false'] : [leaf.flag];
  else if (leaf.choices !== undefined) args = [leaf.flag, leaf.choices.find((c) => c !== d) as string];
  else if (typeof d === 'number') args = [leaf.flag, String([d + 1, d / 2].find(valid))];
  else {
    const strings: Record<string, string> = {
      run: 'r1',
      'dataset.name': 'other',
      'dataset.source': 'statlog:data.csv',
      'dataset.modalities': 'lists.yaml',
      'model.preset': d === 'paper' ? 'tiny' : 'paper',
      'model.overrides': '{"depth":2}',
      'eval.splits': d === 'val' ? 'test' : 'val',
      'queues.prefix': 'lab',
    };
    const v = strings[leaf.path];
    if (v === undefined) throw new Error(`no test value for the run-config flag ${leaf.flag}: add one`);
    args = [leaf.flag, v];
  }
  const needs: Record<string, string[]> = {
    'train.localSteps': ['--train-mode', 'local'],
    'train.innerState': ['--train-mode', 'local'],
    'train.outerKind': ['--train-mode', 'local'],
    'train.outerLr': ['--train-mode', 'local'],
    'train.outerMomentum': ['--train-mode', 'local', '--train-outer-kind', 'nesterov'],
    'train.augmentJitterNm': ['--train-augment'],
  };
  const w = needs[leaf.path];
  return w !== undefined ? { args, with: w } : args;
}
const runConfigCases = (current: RunConfig): Record<string, Case> =>
  Object.fromEntries(runConfigLeaves().map((l) => [l.flag, leafCase(l, current)]));

const TABLES: Record<string, CommandTable> = {
  demo: {
    base: [],
    effect: async (o, cmd) => ({
      config: await demoRunConfig(o as DemoOptions, cmd, warn),
      ...(({ workers, backend, port, baseline, json, keep, store }) => ({ workers, backend, port, baseline, json, keep, store }))(o),
    }),
    cases: {
      ...runConfigCases(await resolveTrainConfig({ config: 'statlog' })),
      '--config': ['--config', 'sen2-scene'],
      '--preset': ['--preset', 'sen2-scene'],
      '--workers': ['--workers', '3'],
      '--backend': ['--backend', 'wasm'],
      '--port': ['--port', '0'],
      '--no-baseline': ['--no-baseline'],
      '--json': ['--json'],
      '--keep': ['--keep'],
      '--store': ['--store', '/tmp/kept'],
    },
  },
  atoms: {
    base: ['patch-folder'],
    effect: (o) => atomsSettings(o),
    cases: {
      '--sensor': ['--sensor', 'landsat-7'],
      '--bands': ['--bands', 'B1,B2'],
      '--modality': ['--modality', 's2-rgbn-10m'],
      '--json': ['--json'],
    },
  },
  shard: {
    base: ['--dataset', `statlog:${join(dir, 'data.csv')}`, '--out', '/tmp/shards'],
    effect: (o) => shardSettings(o as unknown as ShardOptions),
    cases: {
      '--dataset': ['--dataset', `geotiff:${join(dir, 'folder')}`],
      '--out': ['--out', 's3://bucket/prefix'],
      '--name': ['--name', 'mine'],
      '--shard-size': ['--shard-size', '1000'],
      '--train-modalities': ['--train-modalities', 'mss-all'],
      '--val-modalities': { args: ['--val-modalities', 'mss-grn'], with: ['--train-modalities', 'mss-all'] },
      '--test-modalities': { args: ['--test-modalities', 'mss-grn'], with: ['--train-modalities', 'mss-all'] },
      '--modalities': ['--modalities', join(dir, 'lists.yaml')],
      '--json': ['--json'],
    },
  },
  model: {
    base: [],
    effect: (o) => modelSettings(o as ModelCliOptions, warn),
    cases: {
      '--model-preset': ['--model-preset', 'paper'],
      '--preset': ['--preset', 'paper'],
      '--backend': ['--backend', 'cpu'],
      '--json': ['--json'],
    },
  },
  train: {
    base: [],
    effect: async (o, cmd) => {
      checkTrainOptions(o as TrainCliOptions, cmd);
      const config = await resolveTrainConfig(o);
      refuseUnusedOptions(cmd, config, runConfigRules());
      return {
        config,
        ...endpoints(o),
        ...(({ resume, executor, backend, json, dashboard, port, host, token }) => ({
          resume,
          executor,
          backend,
          json,
          dashboard,
          port,
          host,
          token,
        }))(o),
      };
    },
    cases: {
      ...runConfigCases(parseRunConfig({})),
      ...endpointCases(),
      '--config': ['--config', 'sen2-scene'],
      '--resume': ['--resume'],
      '--executor': ['--executor', 'in-process'],
      '--backend': { args: ['--backend', 'wasm'], with: ['--executor', 'in-process'] },
      '--redis': ['--redis', 'redis://10.0.0.5:6379'],
      '--json': ['--json'],
      '--dashboard': ['--dashboard'],
      '--port': { args: ['--port', '0'], with: ['--dashboard'] },
      '--host': { args: ['--host', '0.0.0.0'], with: ['--dashboard'] },
      '--token': { args: ['--token', 'fourteen-chars-x'], with: ['--dashboard'] },
    },
  },
  worker: {
    base: [],
    effect: (o) => ({ worker: workerSettings(o as unknown as WorkerCliOptions), ...endpoints(o) }),
    cases: {
      ...endpointCases({ queues: true }),
      '--queues': ['--queues', 'atomizer-eval'],
      '--backend': ['--backend', 'wasm'],
      '--compute': ['--compute', 'stub'],
      '--concurrency': ['--concurrency', '2'],
      '--cache-dir': ['--cache-dir', '/tmp/cache'],
      '--cache-bytes': ['--cache-bytes', '1000'],
      '--lock-seconds': ['--lock-seconds', '5'],
      '--drain-seconds': ['--drain-seconds', '5'],
      '--id': ['--id', 'w1'],
    },
  },
  launch: {
    base: [],
    effect: (o, cmd) => ({
      plan: launchPlan(o as unknown as LaunchOptions, cmd.getOptionValueSource('workers') === 'cli'),
      ...endpoints(o),
    }),
    cases: {
      ...endpointCases({ queues: true }),
      '--gpus': ['--gpus', '0,1'],
      '--workers': ['--workers', '3'],
      '--queues': ['--queues', 'atomizer-eval'],
      '--backend': ['--backend', 'wasm'],
      '--lock-seconds': ['--lock-seconds', '5'],
    },
  },
  eval: {
    base: ['--run', 'r', '--dataset', 'statlog:data.csv'],
    effect: (o, cmd) => ({ ...evalSettings(o as unknown as EvalCliOptions, cmd), ...endpoints(o) }),
    cases: {
      ...endpointCases({ redis: false }),
      '--run': ['--run', 'other'],
      '--checkpoint': ['--checkpoint', '5'],
      '--dataset': ['--dataset', 'geotiff:scene.tif'],
      '--modality': ['--modality', 'mss-grn'],
      '--split': ['--split', 'val'],
      '--max-samples': ['--max-samples', '10'],
      '--tile': ['--tile', '32'],
      '--stats': ['--stats', 'dataset'],
      '--backend': ['--backend', 'cpu'],
      '--json': ['--json'],
    },
  },
  predict: {
    base: ['--run', 'r', '--input', 'scene.tif', '--out', 'map.tif'],
    effect: (o, cmd) => ({ ...predictSettings(o as unknown as PredictCliOptions, cmd), ...endpoints(o) }),
    cases: {
      ...endpointCases({ redis: false }),
      '--redis': ['--redis', 'redis://10.0.0.5:6379'],
      '--queue-prefix': { args: ['--queue-prefix', 'lab'], with: ['--redis'] },
      '--windows-per-job': { args: ['--windows-per-job', '3'], with: ['--redis'] },
      '--stats': ['--stats', 'run'],
      '--run': ['--run', 'other'],
      '--checkpoint': ['--checkpoint', '5'],
      '--input': ['--input', 'item.json'],
      '--out': ['--out', 'other.tif'],
      '--probabilities': ['--probabilities'],
      '--sensor': ['--sensor', 's2a'],
      '--bands': ['--bands', 'B02,B03'],
      '--modality': ['--modality', 's2-rgbn-10m'],
      '--patch': ['--patch', '8'],
      '--stride': ['--stride', '4'],
      '--tile-size': ['--tile-size', '512'],
      '--batch-size': ['--batch-size', '64'],
      '--backend': ['--backend', 'cpu'],
      '--json': ['--json'],
    },
  },
  export: {
    base: ['--run', 'r', '--out', 'torch'],
    effect: (o) => ({ ...exportSettings(o as unknown as ExportCliOptions), ...endpoints(o) }),
    cases: {
      ...endpointCases({ redis: false }),
      '--run': ['--run', 'other'],
      '--checkpoint': ['--checkpoint', '5'],
      '--out': ['--out', 'other'],
      '--json': ['--json'],
    },
  },
  report: {
    base: ['--run', 'r'],
    effect: (o, cmd) => ({ ...reportSettings(o as unknown as ReportCliOptions, cmd), ...endpoints(o) }),
    cases: {
      ...endpointCases({ redis: false, outage: false }),
      '--run': ['--run', 'other'],
      '--out': ['--out', 'elsewhere'],
      '--format': ['--format', 'md'],
      '--inline': ['--inline'],
      '--json': ['--json'],
    },
  },
  dashboard: {
    base: [],
    effect: (o) => ({ ...dashboardSettings(o as unknown as DashboardCliOptions), ...endpoints(o) }),
    cases: {
      ...endpointCases({ outage: false }),
      '--run': ['--run', 'r'],
      '--host': ['--host', '0.0.0.0'],
      '--port': ['--port', '0'],
      '--token': ['--token', 'fourteen-chars-x'],
      '--queue-prefix': ['--queue-prefix', 'lab'],
      '--allow-writes': ['--allow-writes'],
    },
  },
};

/** Parse `args` with the real command (its action replaced) and compute what it would do. */
async function effectOf(name: string, args: string[]): Promise<unknown> {
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) throw new Error(`no command ${name}`);
  const cmd = (await loadCommand(entry)).exitOverride().configureOutput({ writeErr: () => undefined });
  cmd.action(() => undefined);
  await cmd.parseAsync(args, { from: 'user' });
  return TABLES[name]?.effect(cmd.opts(), cmd);
}

describe('every flag of every command changes what it does', () => {
  it('has a table for every command', () => {
    expect(Object.keys(TABLES).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  for (const { name } of COMMANDS) {
    it(
      name,
      async () => {
        const table = TABLES[name] as CommandTable;
        const cases: Record<string, Case> = { ...table.cases };
        const cmd = await loadCommand(COMMANDS.find((c) => c.name === name)!);
        const flags = cmd.options.map((o) => o.long as string);
        // A flag without a case, or a case for a flag the command does not have, is an error here.
        expect(Object.keys(cases).sort(), `the options of atomizer ${name}`).toEqual([...flags].sort());
        for (const [flag, c] of Object.entries(cases)) {
          const [args, needs] = Array.isArray(c) ? [c, []] : [c.args, c.with];
          expect(args[0], 'a case gives its own flag').toBe(flag);
          const without = await effectOf(name, [...table.base, ...needs]);
          const withFlag = await effectOf(name, [...table.base, ...needs, ...args]);
          expect(withFlag, `atomizer ${name} ${[...needs, ...args].join(' ')}`).not.toEqual(without);
        }
      },
      60_000,
    );
  }
});

describe('an option the other options leave unused is refused', () => {
  it.each([
    ['train', ['--backend', 'wasm'], '--backend is used only with --executor in-process'],
    ['train', ['--executor', 'in-process', '--redis', 'redis://h:6379'], '--redis is used only with --executor bullmq'],
    ['train', ['--port', '0'], '--port is used only with --dashboard'],
    ['train', ['--token', 'fourteen-chars-x'], '--token is used only with --dashboard'],
    ['train', ['--train-local-steps', '8'], '--train-local-steps is used only in local mode (--train-mode local)'],
    [
      'train',
      ['--train-mode', 'local', '--train-outer-momentum', '0.5'],
      '--train-outer-momentum is used only in local mode with a momentum outer optimizer',
    ],
    [
      'demo',
      ['--train-augment', 'false', '--train-augment-jitter-nm', '5'],
      '--train-augment-jitter-nm is used only with spectral augmentation (--train-augment)',
    ],
    ['demo', ['--train-mode', 'sync', '--train-outer-lr', '0.5'], '--train-outer-lr is used only in local mode (--train-mode local)'],
    ['report', ['--run', 'r', '--format', 'md', '--inline'], '--inline is used only with --format html'],
    [
      'predict',
      ['--run', 'r', '--input', 'scene.tif', '--out', 'map.tif', '--windows-per-job', '3'],
      '--windows-per-job is used only with --redis',
    ],
    [
      'predict',
      ['--run', 'r', '--input', 'scene.tif', '--out', 'map.tif', '--queue-prefix', 'lab'],
      '--queue-prefix is used only with --redis',
    ],
    ['launch', ['--gpus', '0', '--workers', '2'], 'give either --gpus or --workers, not both'],
  ])('atomizer %s %j', async (name, args, message) => {
    await expect(effectOf(name, args)).rejects.toThrow(message);
  });

  it('but not an environment variable meant for every command (ATOMIZER_DASHBOARD_TOKEN without --dashboard)', async () => {
    vi.stubEnv('ATOMIZER_DASHBOARD_TOKEN', 'fourteen-chars-x');
    try {
      await expect(effectOf('train', [])).resolves.toBeDefined();
    } finally {
      vi.stubEnv('ATOMIZER_DASHBOARD_TOKEN', undefined);
    }
  });
});

describe('one default per concept', () => {
  it('the model preset, shard size and queue layout default to the run config defaults in every command', async () => {
    const dflt = parseRunConfig({});
    expect(((await effectOf('model', [])) as { preset: string }).preset).toBe(dflt.model.preset);
    expect(((await effectOf('shard', TABLES.shard!.base)) as { building: { shardSize: number } }).building.shardSize).toBe(
      dflt.dataset.shardSize,
    );
    const worker = (await effectOf('worker', [])) as { worker: { queues: string[] } };
    expect(worker.worker.queues).toEqual([`${dflt.queues.prefix}-train-0`, `${dflt.queues.prefix}-eval`]);
  });

  it('demo and launch start the same number of CPU workers by default', async () => {
    const demo = (await effectOf('demo', [])) as { workers: number };
    const launch = (await effectOf('launch', [])) as { plan: { slots: unknown[] } };
    expect(launch.plan.slots).toHaveLength(demo.workers);
  });

  it('the old names --preset (demo, model) still work and say the new name', async () => {
    warnings.length = 0;
    await effectOf('model', ['--preset', 'small']);
    await effectOf('demo', ['--preset', 'sen2-scene']);
    expect(warnings).toEqual([
      'atomizer: model --preset is now --model-preset, as train and demo spell it; --preset will be removed',
      'atomizer: demo --preset is now --config (same values); --preset will be removed',
    ]);
  });
});
