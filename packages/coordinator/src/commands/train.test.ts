import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, parseMetricsJsonl, runKeys } from '@atomizer/protocol';
import { freePort, startEmbeddedRedis } from '@atomizer/protocol/redis';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// Bad input stops `atomizer train` with what was wrong and what to do, before anything heavy.
describe('atomizer train: bad input', () => {
  it('names a Redis that does not answer, a missing dataset path, an unknown modality band and a wrong flag value', async () => {
    const port = await freePort();
    const dead = await runCli(['train', '--redis', `redis://127.0.0.1:${port}`, '--s3', '/tmp/atomizer-train-test-store']);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer.*--redis \/ REDIS_URL/);

    const missing = await runCli([
      'train',
      '--executor',
      'in-process',
      '--s3',
      '/tmp/atomizer-train-test-store',
      '--dataset-name',
      'nope',
      '--dataset-source',
      'statlog:/no/such/file.csv',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/dataset path \/no\/such\/file\.csv does not exist/);

    const dir = await mkdtemp(join(tmpdir(), 'atomizer-train-test-'));
    const lists = join(dir, 'lists.yaml');
    await writeFile(lists, 'train:\n  - { name: mss-nine, sensor: landsat-mss, bands: [MSS4, MSS9] }\nval: []\ntest: []\n');
    const band = await runCli([
      'train',
      '--executor',
      'in-process',
      '--s3',
      join(dir, 'store'),
      '--dataset-name',
      'badband',
      '--dataset-source',
      'statlog:../shared/data/statlog/statlog_landsat_satellite.csv',
      '--dataset-modalities',
      lists,
    ]);
    expect(band.code).toBe(1);
    expect(band.stderr).toMatch(/MSS9/);
    expect(band.stderr).toMatch(/landsat-mss/);

    const flag = await runCli(['train', '--train-mode', 'async']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/--train-mode.*async.*Allowed choices are sync, local/);
  }, 120_000);
});

describe('atomizer train --json', () => {
  it('prints the outcome as one object: run, state, round, loss and the last evaluation rows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-train-json-'));
    const r = await runCli([
      'train',
      '--executor',
      'in-process',
      '--backend',
      'wasm',
      '--s3',
      join(dir, 'store'),
      '--config',
      'statlog',
      '--run',
      'tj',
      '--json',
      '--train-rounds',
      '2',
      '--train-mode',
      'sync',
      '--model-preset',
      'tiny',
      '--eval-max-samples',
      '40',
      '--eval-slice-samples',
      '40',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      run: string;
      state: string;
      round: number;
      loss: number;
      results: Array<{ modality: string; seen: string; samples: number; accuracy: number }>;
    };
    expect(j).toMatchObject({ run: 'tj', state: 'done', round: 2 });
    expect(Number.isFinite(j.loss)).toBe(true);
    expect(j.results.map((x) => x.modality)).toEqual(expect.arrayContaining(['mss-grn', 'mss-all']));
    expect(j.results.every((x) => x.samples === 40 && x.accuracy >= 0 && x.accuracy <= 1)).toBe(true);
  }, 180_000);
});

describe('atomizer train --resume with flags and a config file', () => {
  it('trains the extra rounds a raised train.rounds asks for, records the changes, and refuses a model change with nothing written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-train-resume-'));
    const storeDir = join(dir, 'store');
    const runYaml = join(dir, 'run.yaml');
    const yaml = (preset: string) =>
      `run: grow\ndataset:\n  name: statlog\n  source: statlog:../shared/data/statlog/statlog_landsat_satellite.csv\n  shardSize: 1000\n` +
      `model:\n  preset: ${preset}\ntrain:\n  rounds: 2\n  slices: 2\n  sliceSamples: 16\n  maxAtoms: 36\neval:\n  maxSamples: 40\n  sliceSamples: 40\n`;
    await writeFile(runYaml, yaml('tiny'));
    const cli = (...extra: string[]) =>
      runCli(['train', '--executor', 'in-process', '--backend', 'wasm', '--s3', storeDir, '--config', runYaml, '--json', ...extra]);
    const first = await cli();
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ run: 'grow', state: 'done', round: 2 });

    // The finished run, resumed with the same file and two changed flags: trains rounds 3 and 4.
    const more = await cli('--resume', '--train-rounds', '4', '--train-lr', '2e-3');
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).toContain(
      'run grow: applying 2 config changes from round 3 (recorded in runs/grow/config-changes.jsonl):\n  train.rounds: 2 -> 4\n  train.lr: 0.001 -> 0.002\n',
    );
    expect(JSON.parse(more.stdout)).toMatchObject({ run: 'grow', state: 'done', round: 4 });
    const store = new LocalStore(storeDir);
    const keys = runKeys('grow');
    const events = parseMetricsJsonl(new TextDecoder().decode(await store.get(keys.metrics)));
    expect(events.filter((e) => e.type === 'round').map((e) => e.round)).toEqual([1, 2, 3, 4]);
    expect(events.filter((e) => e.type === 'run-start').map((e) => [e.startRound, e.resumed])).toEqual([
      [1, false],
      [3, true],
    ]);
    const stored = JSON.parse(new TextDecoder().decode(await store.get(keys.config))) as {
      config: { train: { rounds: number; lr: number } };
    };
    expect(stored.config.train).toMatchObject({ rounds: 4, lr: 2e-3 });
    const records = new TextDecoder()
      .decode(await store.get(keys.configChanges))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(records).toEqual([
      {
        time: expect.any(String),
        round: 2,
        changes: [
          { field: 'train.rounds', from: 2, to: 4 },
          { field: 'train.lr', from: 1e-3, to: 2e-3 },
        ],
      },
    ]);
    expect(JSON.parse(new TextDecoder().decode(await store.get(keys.status)))).toMatchObject({ state: 'done', round: 4, rounds: 4 });

    // The file now names another model: refused, one line naming the field, nothing in the store touched.
    const snapshot = async () =>
      new Map(await Promise.all((await store.list('')).map(async (k) => [k, Buffer.from(await store.get(k)).toString('base64')] as const)));
    const before = await snapshot();
    await writeFile(runYaml, yaml('small'));
    const refused = await cli('--resume', '--train-rounds', '6');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /cannot resume run 'grow' with model\.preset "tiny" -> "small": it changes what the run trains; start a new run \(another --run id\)/,
    );
    expect(await snapshot()).toEqual(before);
  }, 180_000);

  it('a config file with a typo inside a section stops before anything runs, naming the key and the nearest valid one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-train-typo-'));
    const bad = join(dir, 'run.yaml');
    await writeFile(bad, 'train:\n  rouds: 5\n');
    const r = await runCli(['train', '--executor', 'in-process', '--s3', join(dir, 'store'), '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad} is invalid: train.rouds: unknown key; did you mean train.rounds?`);
  });

  it('--resume without a run id says which flag to give', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-train-noid-'));
    const r = await runCli(['train', '--executor', 'in-process', '--s3', join(dir, 'store'), '--resume']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--resume needs the id of the run to continue: give --run <id>/);
  });
});

describe('atomizer train --dashboard beyond loopback', () => {
  it('asks for a token with flags train has, and takes it from --token or ATOMIZER_DASHBOARD_TOKEN', async () => {
    const { trainCommand } = await import('./train.js');
    const trainFlags = new Set(trainCommand().options.map((o) => o.long));
    const redis = await startEmbeddedRedis();
    try {
      const dir = await mkdtemp(join(tmpdir(), 'atomizer-train-dashboard-'));
      // A dataset that is not in the store: the run stops right after the dashboard started.
      const args = [
        'train',
        '--redis',
        redis.url,
        '--s3',
        join(dir, 'store'),
        '--dataset-name',
        'nope',
        '--dashboard',
        '--host',
        '0.0.0.0',
        '--port',
        '0',
      ];
      const refused = await runCli(args, { ATOMIZER_DASHBOARD_TOKEN: '' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /refusing to serve the dashboard on 0\.0\.0\.0 without a token.*Give --token <secret> \(or ATOMIZER_DASHBOARD_TOKEN\), or keep --host 127\.0\.0\.1/,
      );
      // The flags the message names (the closing '(see atomizer train --help)' aside).
      const named = [...(refused.stderr.replace(/ \(see atomizer train --help\)\n$/, '').match(/--[a-z][a-z-]*/g) ?? [])];
      expect(named).toEqual(expect.arrayContaining(['--token', '--host']));
      for (const flag of named) expect(trainFlags.has(flag), `${flag} is named in the hint`).toBe(true);

      for (const [how, run] of [
        ['--token', () => runCli([...args, '--token', 'fourteen-chars-x'], { ATOMIZER_DASHBOARD_TOKEN: '' })],
        ['the environment', () => runCli(args, { ATOMIZER_DASHBOARD_TOKEN: 'fourteen-chars-x' })],
      ] as const) {
        const served = await run();
        expect(served.stderr, how).toMatch(/dashboard: http:\/\/\S+:\d+/);
        expect(served.stderr, how).toMatch(/dataset 'nope' is not in the store/);
        expect(served.stderr, how).not.toMatch(/without a token/);
      }
    } finally {
      await redis.stop();
    }
  }, 120_000);
});

describe('queue flags', () => {
  it('--queue-prefix and --train-queues set the run config, spelled as worker, launch and dashboard spell them', async () => {
    const { trainCommand } = await import('./train.js');
    const { resolveTrainConfig } = await import('./run-config-options.js');
    const cmd = trainCommand().exitOverride();
    cmd.action(() => undefined);
    await cmd.parseAsync(['--queue-prefix', 'lab', '--train-queues', '2'], { from: 'user' });
    const cfg = await resolveTrainConfig(cmd.opts());
    expect(cfg.queues).toEqual({ prefix: 'lab', train: 2 });
    expect(cmd.options.map((o) => o.long)).not.toContain('--queues-prefix');
  });
});
