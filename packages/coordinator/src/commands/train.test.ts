import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@atomizer/protocol';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// Bad input stops `atomizer train` with what was wrong and what to do, before anything heavy.
describe('atomizer train: bad input', () => {
  it('names a Redis that does not answer, a missing dataset path, an unknown modality band and a wrong flag value', async () => {
    const port = await freePort();
    const dead = await runCli(['train', '--redis', `redis://127.0.0.1:${port}`, '--s3', '/tmp/atomizer-train-test-store']);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer.*--redis \/ REDIS_URL/);

    const missing = await runCli(['train', '--executor', 'in-process', '--s3', '/tmp/atomizer-train-test-store', '--dataset-name', 'nope', '--dataset-source', 'statlog:/no/such/file.csv']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/dataset path \/no\/such\/file\.csv does not exist/);

    const dir = await mkdtemp(join(tmpdir(), 'atomizer-train-test-'));
    const lists = join(dir, 'lists.yaml');
    await writeFile(lists, 'train:\n  - { name: mss-nine, sensor: landsat-mss, bands: [MSS4, MSS9] }\nval: []\ntest: []\n');
    const band = await runCli([
      'train', '--executor', 'in-process', '--s3', join(dir, 'store'), '--dataset-name', 'badband',
      '--dataset-source', 'statlog:../shared/data/statlog/statlog_landsat_satellite.csv', '--dataset-modalities', lists,
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
      'train', '--executor', 'in-process', '--backend', 'wasm', '--s3', join(dir, 'store'), '--config', 'statlog', '--run', 'tj', '--json',
      '--train-rounds', '2', '--train-mode', 'sync', '--model-preset', 'tiny', '--eval-max-samples', '40', '--eval-slice-samples', '40',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { run: string; state: string; round: number; loss: number; results: Array<{ modality: string; seen: string; samples: number; accuracy: number }> };
    expect(j).toMatchObject({ run: 'tj', state: 'done', round: 2 });
    expect(Number.isFinite(j.loss)).toBe(true);
    expect(j.results.map((x) => x.modality)).toEqual(expect.arrayContaining(['mss-grn', 'mss-all']));
    expect(j.results.every((x) => x.samples === 40 && x.accuracy >= 0 && x.accuracy <= 1)).toBe(true);
  }, 180_000);
});

describe('queue flags', () => {
  it('--queue-prefix and --train-queues set the run config, spelled as worker, launch and dashboard spell them', async () => {
    const { trainCommand, resolveTrainConfig } = await import('./train.js');
    const cmd = trainCommand().exitOverride();
    cmd.action(() => undefined);
    await cmd.parseAsync(['--queue-prefix', 'lab', '--train-queues', '2'], { from: 'user' });
    const cfg = await resolveTrainConfig(cmd.opts());
    expect(cfg.queues).toEqual({ prefix: 'lab', train: 2 });
    expect(cmd.options.map((o) => o.long)).not.toContain('--queues-prefix');
  });
});

describe('atomizer --version', () => {
  it('prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("commander's own errors", () => {
  it('say atomizer:, what was wrong and where the help is, exit 1', async () => {
    const bad = await runCli(['train', '--bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toEqual(["atomizer: unknown option '--bogus'", '(run atomizer train --help for usage)']);
    const unknown = await runCli(['bogus']);
    expect(unknown.stderr).toMatch(/^atomizer: unknown command 'bogus'\n\(run atomizer --help for usage\)/);
  });
});
