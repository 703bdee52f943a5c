import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InProcessExecutor, train } from '@atomizer/coordinator';
import { selectBackend } from '@atomizer/model';
import { parseRunConfig } from '@atomizer/protocol';
import { dataPath } from '@atomizer/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atomizer, killFirstBusy, startCluster, startWorkers, type Cluster } from './harness.js';

// Issue 15: `atomizer predict --redis`. A real redis-server, the embedded S3
// server and 2 `atomizer worker` OS processes map the Sentinel-2 scene with a
// run trained briefly on it; the map equals the in-process one byte for byte
// (same normalisation, same batches, same seeds), GDAL reads it, and no
// partial result stays in the store. A worker SIGKILLed in the middle of a
// predict job: the job runs again on the other worker, the map is the same.

const SCENE = dataPath('rstoolbox-sen2', 'sen2.tif');
const MODALITIES = fileURLToPath(new URL('../../coordinator/presets/sen2-scene-modalities.yaml', import.meta.url));
const RUN = 'sen2-predict';
// 247x237 pixels in 64-pixel tiles: 4 x 4 = 16 windows.
const TILES = 16;

let cluster: Cluster;
let reference: Buffer;

interface Summary {
  backend: string;
  pixels: Record<string, number>;
  nodataPixels: number;
  workers?: { id: string; queue: string; jobs: number; windowsPerJob: number; workers: string[] };
  output: { path: string };
}

/** `atomizer predict` of the scene as a separate process; its --json summary. */
async function predict(out: string, extra: string[]): Promise<Summary> {
  const p = atomizer(cluster, [
    'predict',
    '--run',
    RUN,
    '--input',
    SCENE,
    '--sensor',
    's2a',
    '--out',
    out,
    '--tile-size',
    '64',
    '--backend',
    'wasm',
    '--json',
    ...extra,
  ]);
  const code = await p.exited;
  expect(code, p.output()).toBe(0);
  return JSON.parse(p.output().trim().split('\n').at(-1)!) as Summary;
}

beforeAll(async () => {
  await selectBackend('wasm', () => undefined);
  cluster = await startCluster();
  // Trained briefly on the scene's labelled polygons (the sen2-scene preset's data and modalities).
  const config = parseRunConfig({
    run: RUN,
    seed: 42,
    dataset: {
      name: 'sen2-scene',
      source: `scene:${SCENE}?labels=${dataPath('rstoolbox-sen2', 'sen2_polygons.geojson')}&sensor=s2a&k=5`,
      shardSize: 512,
      modalities: MODALITIES,
    },
    model: { preset: 'tiny' },
    train: { rounds: 30, slices: 2, sliceSamples: 32, lr: 5e-3, warmupRounds: 3, maxAtoms: 100 },
    checkpoint: { every: 30, keep: 1 },
    eval: { every: 30, maxSamples: 32, sliceSamples: 32 },
    rounds: { attempts: 3 },
  });
  await train({ store: cluster.store, executor: new InProcessExecutor(cluster.store, 'wasm'), config });
  const local = await predict(join(cluster.dir, 'in-process.tif'), []);
  expect(local.backend).toBe('wasm');
  reference = await readFile(local.output.path);
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('atomizer predict --redis: the map from workers', () => {
  it('2 workers map the Sentinel-2 scene byte for byte as the in-process path does; GDAL reads it; no partial result is left', async () => {
    const workers = await startWorkers(cluster, ['p1', 'p2']);
    const out = join(cluster.dir, 'workers.tif');
    const s = await predict(out, ['--redis', '--windows-per-job', '3']);
    expect(s.backend).toBe('workers');
    expect(s.workers).toMatchObject({ queue: 'atomizer-eval', jobs: Math.ceil(TILES / 3), windowsPerJob: 3 });
    expect(s.workers!.workers).toEqual(['p1', 'p2']);
    expect(Object.values(s.pixels).reduce((a, b) => a + b, 0) + s.nodataPixels).toBe(247 * 237);
    const map = await readFile(out);
    expect(map.length).toBe(reference.length);
    expect(Buffer.compare(map, reference)).toBe(0);
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', out], { encoding: 'utf8' })) as {
      size: number[];
      metadata: Record<string, Record<string, string>>;
    };
    expect(info.size).toEqual([247, 237]);
    expect(info.metadata.IMAGE_STRUCTURE).toMatchObject({ LAYOUT: 'COG' });
    expect(await cluster.store.list(`runs/${RUN}/predict/`)).toEqual([]);
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
  }, 600_000);

  it('a worker SIGKILLed in the middle of a predict job: the job runs again on the other worker, the map is the same', async () => {
    const workers = await startWorkers(cluster, ['k1', 'k2'], ['--lock-seconds', '3']);
    // Kill the first worker seen busy on a predict job.
    const killer = killFirstBusy(cluster, workers, (job) => job.includes(`${RUN}.p`), 600_000);
    const out = join(cluster.dir, 'killed.tif');
    const s = await predict(out, ['--redis', '--windows-per-job', '4']);
    const killed = await killer;
    expect(killed).toBeDefined();
    const survivor = workers.find((w) => w.id !== killed)!.id;
    expect(s.workers!.workers).toContain(survivor);
    expect(Buffer.compare(await readFile(out), reference)).toBe(0);
    expect(await cluster.store.list(`runs/${RUN}/predict/`)).toEqual([]);
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
  }, 600_000);

  it('refuses a relative --input the workers could not resolve (the store is S3), in one line saying what to give', async () => {
    // A path that exists here (the CLI runs in this process's folder), relative.
    const rel = relative(process.cwd(), SCENE);
    expect(rel.startsWith('/')).toBe(false);
    const p = atomizer(cluster, [
      'predict',
      '--run',
      RUN,
      '--input',
      rel,
      '--sensor',
      's2a',
      '--out',
      join(cluster.dir, 'never.tif'),
      '--redis',
    ]);
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toContain(
      `--input ${rel}: workers open the scene themselves and cannot resolve a relative path of this machine; give an http(s):// or s3:// URL, an absolute path on storage every worker mounts, or predict in-process (without --redis)`,
    );
  }, 120_000);
});
