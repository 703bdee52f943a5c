// Large-scene prediction benchmark (issue 15's target: "a 10,000 x 10,000
// pixel, 4-band COG served over loopback HTTP is predicted with peak memory
// under 1 GB and reads only the bytes of the windows it needs"). Not a test.
//
//   npx tsx --conditions=@atomizer/source packages/coordinator/bench/predict-large.bench.ts \
//     [--size 10000] [--stride 16] [--rounds 30] [--seed 42] [--keep] [--json]
//
// 1. Trains a tiny run on the real Sentinel-2 scene (sen2.tif's labelled
//    polygons, the sen2-scene preset's modalities) in this process.
// 2. Synthesises a size x size COG from sen2.tif's four 10 m bands (B02, B03,
//    B04, B08), the 247x237 scene mirrored back and forth across the grid (no
//    seams), as S2 L2A ships them (uint16 reflectance x 10000, GDAL scale
//    1e-4), with the project's COG writer: 256-pixel deflate tiles, overviews.
// 3. Serves it over loopback HTTP with Range support (from disk) and runs
//    `atomizer predict` on its URL as a separate process under /usr/bin/time -v
//    (peak RSS), with an empty block cache: bytes fetched vs the file's size.
//    Every window of the scene is needed (a patch per stride x stride block
//    everywhere), so "only the windows it needs" means each full-resolution
//    tile once (the block cache serves the windows' overlap) and no overview.
// Everything is written to a temp folder, deleted at the end (--keep keeps it).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@atomizer/model';
import { LocalStore, parseRunConfig } from '@atomizer/protocol';
import { startRangeServer } from '@atomizer/protocol/range-server';
import { CogWriter, dataPath, formatGdalMetadata, geoTagsOf } from '@atomizer/tokenizer';
import { Command, Option } from 'commander';
import { fromFile } from 'geotiff';
import { InProcessExecutor, train } from '../src/engine/index.js';
import { presetsDir } from '../src/presets.js';

const SCENE = dataPath('rstoolbox-sen2', 'sen2.tif');
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
/** sen2.tif's bands are B1..B9, B8A, B11, B12: the 10 m ones. */
const BANDS = [
  ['B02', 1],
  ['B03', 2],
  ['B04', 3],
  ['B08', 7],
] as const;
const RUN = 'sen2-bench';

interface Options {
  size: number;
  stride: number;
  rounds: number;
  seed: number;
  keep?: boolean;
  json?: boolean;
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
};

/** Reflect i back and forth over [0, n): 0..n-1, n-1..0, 0.. (tiles without seams). */
const mirror = (i: number, n: number): number => {
  const p = i % (2 * n);
  return p < n ? p : 2 * n - 1 - p;
};

/** sen2.tif's 10 m bands mirrored over a size x size uint16 COG at `path` (see the file comment). */
async function synthesise(path: string, size: number): Promise<void> {
  const image = await (await fromFile(SCENE)).getImage(0);
  const all = (await image.readRasters({ interleave: false })) as unknown as Float32Array[];
  const sw = image.getWidth();
  const sh = image.getHeight();
  const src = BANDS.map(([, i]) => all[i]!);
  const tags = await geoTagsOf(image);
  tags.gdalMetadata = formatGdalMetadata(
    {},
    BANDS.map(([name]) => ({ description: name, scale: 1e-4, offset: 0 })),
  );
  const tile = 256;
  const cog = await CogWriter.create({
    path,
    width: size,
    height: size,
    samplesPerPixel: BANDS.length,
    dtype: 'uint16',
    tileSize: tile,
    tags,
  });
  const n = BANDS.length;
  for (let ty = 0; ty < cog.tilesDown; ty++) {
    for (let tx = 0; tx < cog.tilesAcross; tx++) {
      const cols = Math.min(tile, size - tx * tile);
      const rows = Math.min(tile, size - ty * tile);
      const data = new Uint16Array(cols * rows * n);
      for (let y = 0; y < rows; y++) {
        const row = mirror(ty * tile + y, sh) * sw;
        for (let x = 0; x < cols; x++) {
          const at = row + mirror(tx * tile + x, sw);
          for (let b = 0; b < n; b++) data[(y * cols + x) * n + b] = Math.round((src[b]![at] as number) * 10_000);
        }
      }
      await cog.writeTile(tx, ty, data);
    }
  }
  await cog.finish();
}

/** Run `cmd` under /usr/bin/time -v: stdout, and the peak RSS in bytes. */
function timed(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string; code: number | null; maxRss: number; seconds: number }> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-v', process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
      resolve({
        stdout,
        stderr,
        code,
        maxRss: kb === undefined ? Number.NaN : Number(kb) * 1024,
        seconds: (performance.now() - t0) / 1000,
      });
    });
  });
}

async function main(opts: Options): Promise<void> {
  const started = new Date();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadBefore: loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  };
  const dir = await mkdtemp(join(tmpdir(), 'atomizer-predict-bench-'));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  try {
    // 1. A tiny run on the real scene.
    await selectBackend('wasm', () => undefined);
    const t1 = performance.now();
    const store = new LocalStore(join(dir, 'store'));
    const config = parseRunConfig({
      run: RUN,
      seed: opts.seed,
      dataset: {
        name: 'sen2-scene',
        source: `scene:${SCENE}?labels=${dataPath('rstoolbox-sen2', 'sen2_polygons.geojson')}&sensor=s2a&k=5`,
        shardSize: 512,
        modalities: join(presetsDir(), 'sen2-scene-modalities.yaml'),
      },
      model: { preset: 'tiny' },
      train: {
        rounds: opts.rounds,
        slices: 2,
        sliceSamples: 32,
        lr: 5e-3,
        warmupRounds: Math.max(1, Math.round(opts.rounds / 10)),
        maxAtoms: 100,
      },
      checkpoint: { every: opts.rounds, keep: 1 },
      eval: { every: opts.rounds, maxSamples: 32, sliceSamples: 32 },
    });
    await train({ store, executor: new InProcessExecutor(store, 'wasm'), config });
    const trainSeconds = (performance.now() - t1) / 1000;
    log(`trained ${RUN}: ${opts.rounds} rounds in ${trainSeconds.toFixed(0)} s`);

    // 2. The large COG.
    const t2 = performance.now();
    const cogPath = join(dir, `sen2-mirrored-${opts.size}.tif`);
    await synthesise(cogPath, opts.size);
    const fileBytes = (await stat(cogPath)).size;
    // The full resolution's tiles: what a map at full resolution needs (the overviews are the rest of the file).
    const counts = (await (
      await (await fromFile(cogPath)).getImage(0)
    )
      .getFileDirectory()
      .loadValue('TileByteCounts')) as ArrayLike<number>;
    const fullResBytes = Array.from(counts).reduce((a, b) => a + b, 0);
    const synthSeconds = (performance.now() - t2) / 1000;
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', cogPath], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as {
      size: number[];
      metadata: Record<string, Record<string, string>>;
      bands: Array<{ overviews?: unknown[] }>;
    };
    log(
      `wrote ${cogPath}: ${info.size.join('x')}, ${fileBytes.toLocaleString('en-US')} bytes, layout ${info.metadata.IMAGE_STRUCTURE?.LAYOUT}, ${info.bands[0]?.overviews?.length ?? 0} overviews, in ${synthSeconds.toFixed(0)} s`,
    );

    // 3. Served over loopback HTTP; predicted by a separate process.
    const http = await startRangeServer();
    http.putFile('/sen2-mirrored.tif', cogPath, fileBytes);
    const url = `${http.url}/sen2-mirrored.tif`;
    const out = join(dir, 'map.tif');
    const args = [
      'predict',
      '--run',
      RUN,
      '--s3',
      join(dir, 'store'),
      '--input',
      url,
      '--sensor',
      's2a',
      '--bands',
      BANDS.map(([b]) => b).join(','),
      '--out',
      out,
      '--stride',
      String(opts.stride),
      '--backend',
      'wasm',
      '--json',
    ];
    const command = `atomizer ${args.join(' ')}`;
    log(`running ${command}`);
    const loadDuring = loadavg()[0]!.toFixed(1);
    const r = await timed(['--conditions=@atomizer/source', '--import', TSX, CLI, ...args], {
      ...process.env,
      ATOMIZER_CACHE_DIR: join(dir, 'cache'),
    });
    const served = http.bytesServed();
    const requests = http.requests.length;
    await http.close();
    if (r.code !== 0) throw new Error(`atomizer predict exited with ${r.code}:\n${r.stderr.slice(-4000)}`);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      seconds: number;
      patch: number;
      pixels: Record<string, number>;
      nodataPixels: number;
      output: { bytes: number };
    };
    const mapInfo = JSON.parse(execFileSync('gdalinfo', ['-json', out], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as {
      size: number[];
      metadata: Record<string, Record<string, string>>;
    };
    const patches = Math.ceil(opts.size / opts.stride) ** 2;
    const figures = {
      date: started.toISOString().slice(0, 10),
      size: opts.size,
      bands: BANDS.map(([b]) => b),
      fileBytes,
      bytesFetched: served,
      fetchedOverFile: served / fileBytes,
      fullResBytes,
      fetchedOverFullRes: served / fullResBytes,
      requests,
      peakRssBytes: r.maxRss,
      predictSeconds: summary.seconds,
      processSeconds: r.seconds,
      stride: opts.stride,
      patch: summary.patch,
      patches,
      patchesPerSecond: patches / summary.seconds,
      map: {
        size: mapInfo.size,
        layout: mapInfo.metadata.IMAGE_STRUCTURE?.LAYOUT,
        bytes: summary.output.bytes,
        pixels: summary.pixels,
        nodata: summary.nodataPixels,
      },
      trainSeconds,
      synthSeconds,
      seed: opts.seed,
      rounds: opts.rounds,
      command,
      machine: {
        ...machine,
        loadDuring,
        loadAfter: loadavg()
          .map((l) => l.toFixed(1))
          .join(' '),
      },
    };
    if (opts.json === true) {
      process.stdout.write(`${JSON.stringify(figures)}\n`);
      return;
    }
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    console.log(
      `predict ${opts.size}x${opts.size}, 4 bands (${figures.bands.join(', ')}), uint16 COG ${mb(fileBytes)} over loopback HTTP, --stride ${opts.stride} (${patches.toLocaleString('en-US')} patches of ${summary.patch}x${summary.patch})`,
    );
    console.log(`  peak RSS of the predict process: ${mb(r.maxRss)} (target < 1 GB: ${r.maxRss < 1e9 ? 'met' : 'NOT met'})`);
    console.log(
      `  bytes fetched: ${mb(served)} in ${requests} requests = ${(figures.fetchedOverFile * 100).toFixed(1)}% of the file, ${(figures.fetchedOverFullRes * 100).toFixed(1)}% of its full-resolution tiles (${mb(fullResBytes)}; the overviews are not read)`,
    );
    console.log(
      `  predict ${summary.seconds.toFixed(0)} s (${figures.patchesPerSecond.toFixed(0)} patches/s), process ${r.seconds.toFixed(0)} s; map ${mapInfo.size.join('x')} ${figures.map.layout}, ${mb(summary.output.bytes)}`,
    );
    console.log(
      `  run: ${opts.rounds} rounds, seed ${opts.seed}, trained in ${trainSeconds.toFixed(0)} s; COG synthesised in ${synthSeconds.toFixed(0)} s`,
    );
    console.log(
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}; load ${machine.loadBefore} before, ${loadDuring} at the start of predict, ${figures.machine.loadAfter} after`,
    );
    console.log(`command: ${command}`);
  } finally {
    if (opts.keep === true) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

const program = new Command('predict-large.bench')
  .addOption(new Option('--size <pixels>', 'side of the synthesised scene').default(10_000).argParser(int('--size')))
  .addOption(new Option('--stride <pixels>', 'atomizer predict --stride').default(16).argParser(int('--stride')))
  .addOption(new Option('--rounds <n>', 'training rounds of the tiny run').default(30).argParser(int('--rounds')))
  .addOption(new Option('--seed <n>', 'run seed').default(42).argParser(int('--seed')))
  .option('--keep', 'keep the temp folder (store, COG, map)')
  .option('--json', 'print the figures as one JSON object')
  .action(main);
await program.parseAsync();
