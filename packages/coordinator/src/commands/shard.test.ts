import { chmod, cp, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '@atomizer/protocol';
import { dataPath, parseDatasetSpec, parseManifest } from '@atomizer/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';
import { positiveInt } from './option-values.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('atomizer shard', () => {
  it('shards BigEarthNet S2 tiny into a folder and prints the manifest summary', async () => {
    const out = await mkdtemp(join(tmpdir(), 'atomizer-shard-cli-'));
    dirs.push(out);
    const r = await runCli([
      'shard',
      '--dataset',
      `bigearthnet:${dataPath('bigearthnet_tiny', 's2')}`,
      '--out',
      out,
      '--name',
      'ben',
      '--shard-size',
      '5',
    ]);
    expect(r.code).toBe(0);
    const manifest = parseManifest(await readFile(join(out, 'datasets', 'ben', 'manifest.json'), 'utf8'), 'test');
    const [train, val, test] = [manifest.splits.train.samples, manifest.splits.val.samples, manifest.splits.test.samples];
    expect(train + val + test).toBe(11);
    // Each shard file the manifest lists exists with its size.
    for (const e of [...manifest.shards.train, ...manifest.shards.val, ...manifest.shards.test]) {
      expect((await readFile(join(out, e.key))).byteLength).toBe(e.bytes);
      expect(e.samples).toBeLessThanOrEqual(5);
    }
    // The summary: splits, bytes per atom (uint16 rasters: a little over 2), band stats.
    expect(r.stdout).toMatch(new RegExp(`train\\s+${train}\\s`));
    const bpa = Number(/([\d.]+) bytes\/atom/.exec(r.stdout)?.[1]);
    expect(bpa).toBeGreaterThan(2);
    expect(bpa).toBeLessThan(2.5);
    expect(r.stdout).toMatch(/sentinel-2[ab]:B02/);
    // stderr is not a terminal here: plain progress lines, no bar escape codes.
    expect(r.stderr).not.toContain('\u001b[');
    expect(r.stderr).toMatch(/11\/11 samples/);
  });

  it('--json prints one object: the manifest as written, where it is, atoms and bytes', async () => {
    const out = await mkdtemp(join(tmpdir(), 'atomizer-shard-cli-'));
    dirs.push(out);
    const r = await runCli([
      'shard',
      '--dataset',
      `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`,
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { manifestKey: string; totalAtoms: number; bytes: number; manifest: unknown };
    const written = parseManifest(await readFile(join(out, j.manifestKey), 'utf8'), 'test');
    expect(j.manifest).toEqual(JSON.parse(JSON.stringify(written)));
    expect(j.totalAtoms).toBe(6435 * 36);
    expect(written.shards.train.length).toBe(Math.ceil(4435 / 256)); // the run config's default shard size
  });

  it('explains an unknown dataset kind or a missing path in one line, exit code 1', async () => {
    const out = await mkdtemp(join(tmpdir(), 'atomizer-shard-cli-'));
    dirs.push(out);
    const kind = await runCli(['shard', '--dataset', 'landsat:/tmp', '--out', out]);
    expect(kind.code).toBe(1);
    expect(kind.stderr.trim().split('\n')).toHaveLength(1);
    expect(kind.stderr).toMatch(/unknown dataset kind 'landsat'.*expected one of bigearthnet, statlog, geotiff, scene/);
    // The other bad inputs in process: same functions as the command's action.
    expect(() => parseDatasetSpec('statlog:/no/such.csv')).toThrow(/\/no\/such\.csv does not exist/);
    expect(() => positiveInt('--shard-size')('0')).toThrow(/--shard-size must be a positive integer, got '0'/);
  });

  it('a truncated GeoTIFF fails the sharding in one line naming the file, leaving no shard and no manifest; the whole data then shards', async () => {
    const out = await mkdtemp(join(tmpdir(), 'atomizer-shard-cli-'));
    dirs.push(out);
    // A copy of BigEarthNet S2 tiny with the B02 GeoTIFF of its last patch cut in half.
    const data = join(out, 's2');
    await cp(dataPath('bigearthnet_tiny', 's2'), data, { recursive: true });
    await chmod(data, 0o755);
    const last = (await readdir(data)).sort().at(-1) as string;
    await chmod(join(data, last), 0o755);
    const bad = join(data, last, `${last}_B02.tif`);
    await chmod(bad, 0o644);
    await truncate(bad, Math.floor((await stat(bad)).size / 2));
    const store = join(out, 'store');

    const r = await runCli(['shard', '--dataset', `bigearthnet:${data}`, '--out', store, '--name', 'ben', '--shard-size', '2']);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('atomizer:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.startsWith(`atomizer: ${bad}: not a valid or complete GeoTIFF (`)).toBe(true);
    expect(errors[0]).toMatch(/: truncated\) \(see atomizer shard --help\)$/);
    expect(r.stderr).toMatch(/[1-9]\d* shards/); // shards were staged before the bad file
    expect(await new LocalStore(store).list('')).toEqual([]);

    const ok = await runCli([
      'shard',
      '--dataset',
      `bigearthnet:${dataPath('bigearthnet_tiny', 's2')}`,
      '--out',
      store,
      '--name',
      'ben',
      '--shard-size',
      '2',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const manifest = parseManifest(await readFile(join(store, 'datasets', 'ben', 'manifest.json'), 'utf8'), 'test');
    const listed = [...manifest.shards.train, ...manifest.shards.val, ...manifest.shards.test].map((e) => e.key);
    expect(listed.every((k) => /^datasets\/ben\/builds\/[^/]+\/shards\/(train|val|test)\/\d{6}\.bin$/.test(k))).toBe(true);
    expect(await new LocalStore(store).list('')).toEqual(['datasets/ben/manifest.json', ...listed].sort());
  });

  it('records the modality lists of a --modalities YAML file in the manifest, and refuses overlapping ones', async () => {
    const out = await mkdtemp(join(tmpdir(), 'atomizer-shard-cli-'));
    dirs.push(out);
    const lists = join(out, 'modalities.yaml');
    await writeFile(lists, 'train: [s2-all]\nval: [s2-rgb]\ntest: [s2-swir-only, s2-all@res0.5]\n');
    const r = await runCli([
      'shard',
      '--dataset',
      `bigearthnet:${dataPath('bigearthnet_tiny', 's2')}`,
      '--out',
      out,
      '--name',
      'ben',
      '--modalities',
      lists,
    ]);
    expect(r.code).toBe(0);
    const manifest = parseManifest(await readFile(join(out, 'datasets', 'ben', 'manifest.json'), 'utf8'), 'test');
    const names = (l: unknown[] | undefined) => (l ?? []).map((m) => (typeof m === 'string' ? m : (m as { name: string }).name));
    expect(names(manifest.modalities?.train)).toEqual(['s2-all']);
    expect(names(manifest.modalities?.test)).toEqual(['s2-swir-only', 's2-all@res0.5']);

    await writeFile(lists, 'train: [s2-all-20m]\ntest: [s2-all@res0.5]\n');
    const bad = await runCli([
      'shard',
      '--dataset',
      `bigearthnet:${dataPath('bigearthnet_tiny', 's2')}`,
      '--out',
      out,
      '--name',
      'ben2',
      '--modalities',
      lists,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/same transform as 's2-all-20m'/);
  });
});
