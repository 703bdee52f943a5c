// atomizer predict end to end on real data: a small run trained in-process on
// the Sentinel-2 scene's labelled polygons (the sen2-scene preset's data and
// modalities, the tiny model, 100 rounds: ~12 s), then maps of the scene.
// - The map of sen2.tif agrees with the polygons (their independent
//   rasterisation, sen2_labels.tif) as well as `atomizer eval` scores the same
//   patches, and opens in GDAL with the input's CRS, geotransform and a COG layout.
// - A crop of the scene (re-encoded as a float32 COG with a hole of NaN) in
//   32-pixel windows maps as the whole scene in 128-pixel windows wherever the
//   crop holds the whole patch: window edges do not show.
// - --probabilities, nodata, the command line with --json, refusals.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '@atomizer/model';
import { LocalStore, parseRunConfig } from '@atomizer/protocol';
import { startRangeServer } from '@atomizer/protocol/range-server';
import { BLOCK_SIZE, CogWriter, dataPath, geoTagsOf, readSceneLabels } from '@atomizer/tokenizer';
import { fromFile } from 'geotiff';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InProcessExecutor, train } from '../engine/index.js';
import { presetsDir } from '../presets.js';
import { evalCheckpoint } from './eval-checkpoint.js';
import { MAP_NODATA } from '@atomizer/worker';
import { predictScene, type PredictSceneOptions, type PredictSceneResult } from './predict-scene.js';
import { runCli } from './run-cli.js';

const SCENE = dataPath('rstoolbox-sen2', 'sen2.tif');
const POLYGONS = dataPath('rstoolbox-sen2', 'sen2_polygons.geojson');
const SEN2 = `scene:${SCENE}?labels=${POLYGONS}&sensor=s2a&k=5`;
const RUN = 'pr';
// The crop: 96x96 pixels at (CX, CY) of sen2.tif, NaN in every band over HOLE, NaN in B02 only over PART.
const CX = 70;
const CY = 100;
const CROP = 96;
const HOLE = { x0: 10, y0: 30, x1: 20, y1: 40 };
const PART = { x0: 50, y0: 50, x1: 56, y1: 56 };
// Agreement of the map with the polygons must reach this. Measured (seed 42, wasm): 0.914,
// equal to eval's accuracy on the same patches; the majority class (forest) alone scores 0.446
// and a model that never learned dryout and village ~0.65. 0.85 is clearly above both and
// leaves room for numeric differences between backends.
const MIN_AGREEMENT = 0.85;

let dir: string;
let store: LocalStore;
let whole: PredictSceneResult;
let wholeMap: Uint8Array;
let crop: string;

const inside = (r: { x0: number; y0: number; x1: number; y1: number }, x: number, y: number) =>
  x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;

async function bandsOf(path: string): Promise<Uint8Array[]> {
  const image = await (await fromFile(path)).getImage(0);
  return (await image.readRasters({ interleave: false })) as unknown as Uint8Array[];
}

function gdalinfo(path: string): {
  coordinateSystem: { wkt: string };
  geoTransform: number[];
  metadata: Record<string, Record<string, string>>;
  bands: Array<Record<string, unknown>>;
} {
  return JSON.parse(execFileSync('gdalinfo', ['-json', path], { encoding: 'utf8' })) as ReturnType<typeof gdalinfo>;
}

/**
 * A window of sen2.tif as a float32 COG of `tile`-pixel tiles with its georeferencing shifted to
 * the window, NaN where `nan(x, y, band)` says (window pixels).
 */
async function writeCog(
  path: string,
  x0: number,
  y0: number,
  w: number,
  h: number,
  tile: number,
  nan: (x: number, y: number, band: number) => boolean = () => false,
): Promise<void> {
  const image = await (await fromFile(SCENE)).getImage(0);
  const bands = (await image.readRasters({ window: [x0, y0, x0 + w, y0 + h], interleave: false })) as unknown as Float32Array[];
  const tags = await geoTagsOf(image);
  const [sx, sy] = tags.modelPixelScale as [number, number];
  const tie = tags.modelTiepoint as number[];
  tags.modelTiepoint = [0, 0, 0, tie[3]! + x0 * sx, tie[4]! - y0 * sy, 0];
  const cog = await CogWriter.create({ path, width: w, height: h, samplesPerPixel: bands.length, dtype: 'float32', tileSize: tile, tags });
  for (let ty = 0; ty < cog.tilesDown; ty++) {
    for (let tx = 0; tx < cog.tilesAcross; tx++) {
      const cols = Math.min(tile, w - tx * tile);
      const rows = Math.min(tile, h - ty * tile);
      const data = new Float32Array(cols * rows * bands.length);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const gx = tx * tile + x;
          const gy = ty * tile + y;
          bands.forEach((b, s) => {
            data[(y * cols + x) * bands.length + s] = nan(gx, gy, s) ? Number.NaN : (b[gy * w + gx] as number);
          });
        }
      }
      await cog.writeTile(tx, ty, data);
    }
  }
  await cog.finish();
}

/** sen2.tif's window as a float32 COG, NaN over HOLE (all bands) and PART (B02). */
function writeCrop(path: string): Promise<void> {
  return writeCog(path, CX, CY, CROP, CROP, 32, (x, y, s) => inside(HOLE, x, y) || (s === 1 && inside(PART, x, y)));
}

function run(extra: Partial<PredictSceneOptions> & { out: string }): Promise<PredictSceneResult> {
  return predictScene({ store, run: RUN, input: SCENE, sensor: 's2a', backend: 'wasm', ...extra });
}

beforeAll(async () => {
  await selectBackend('wasm', () => undefined);
  dir = await mkdtemp(join(tmpdir(), 'atomizer-predict-'));
  store = new LocalStore(join(dir, 'store'));
  const config = parseRunConfig({
    run: RUN,
    seed: 42,
    dataset: { name: 'sen2-scene', source: SEN2, shardSize: 512, modalities: join(presetsDir(), 'sen2-scene-modalities.yaml') },
    model: { preset: 'tiny' },
    train: { rounds: 100, slices: 2, sliceSamples: 32, lr: 5e-3, warmupRounds: 5, maxAtoms: 100 },
    checkpoint: { every: 100, keep: 1 },
    eval: { every: 100, maxSamples: 32, sliceSamples: 32 },
  });
  await train({ store, executor: new InProcessExecutor(store, 'wasm'), config });
  whole = await run({ out: join(dir, 'sen2-map.tif'), tileSize: 128 });
  wholeMap = (await bandsOf(whole.output.path))[0]!;
  crop = join(dir, 'crop.tif');
  await writeCrop(crop);
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('atomizer predict: a map of the Sentinel-2 scene', () => {
  it('agrees with the labelled polygons as well as eval scores the same patches', async () => {
    const labels = (await bandsOf(dataPath('rstoolbox-sen2', 'sen2_labels.tif')))[0]!;
    const names = ['', 'dryout', 'forest', 'village', 'water']; // sen2_classes.csv; 0 unlabelled, 255 nodata
    let labelled = 0;
    let agree = 0;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l < 1 || l > 4) continue;
      labelled++;
      if (whole.classes[wholeMap[i]!] === names[l]) agree++;
    }
    expect(labelled).toBe(2370);
    const agreement = agree / labelled;
    const ev = await evalCheckpoint({ store, run: RUN, dataset: SEN2, split: 'all', modalities: [whole.modality.name], backend: 'wasm' });
    const accuracy = ev.modalities[0]!.accuracy!;
    // eval scores 2367 patches (3 labelled pixels sit within 2 pixels of the edge): at most 3 may differ.
    expect(Math.abs(agreement * labelled - accuracy * ev.modalities[0]!.samples)).toBeLessThanOrEqual(3);
    expect(agreement).toBeGreaterThanOrEqual(MIN_AGREEMENT);
    // Held-out polygons (the run's test split) on the map, against eval on the test split.
    const scene = await readSceneLabels({ scene: SCENE, sensor: 's2a', labels: POLYGONS, patchSize: 5 }); // as the dataset spec reads it
    const test = scene.items.filter((p) => p.split === 'test');
    const heldOut =
      test.filter((p) => whole.classes[wholeMap[p.row * 247 + p.col]!] === scene.classes[p.sample.labels[0]!]).length / test.length;
    const evTest = await evalCheckpoint({
      store,
      run: RUN,
      dataset: SEN2,
      split: 'test',
      modalities: [whole.modality.name],
      backend: 'wasm',
    });
    expect(heldOut).toBeCloseTo(evTest.modalities[0]!.accuracy!, 10);
    console.log(
      `predict sen2.tif: ${whole.seconds.toFixed(1)} s; agreement with the polygons ${agreement.toFixed(4)} (${agree}/${labelled}), eval ${accuracy.toFixed(4)}; held-out polygons ${heldOut.toFixed(4)} (${test.length} pixels)`,
    );
    expect(Object.values(whole.pixels).reduce((a, b) => a + b, 0) + whole.nodataPixels).toBe(247 * 237);
  });

  it("opens in GDAL with the input's CRS and geotransform, as a COG with overviews, nodata and the class names", () => {
    const map = gdalinfo(whole.output.path);
    const input = gdalinfo(SCENE);
    expect(map.coordinateSystem.wkt).toBe(input.coordinateSystem.wkt);
    expect(map.geoTransform).toEqual(input.geoTransform);
    expect(map.metadata.IMAGE_STRUCTURE).toMatchObject({ LAYOUT: 'COG', COMPRESSION: 'DEFLATE' });
    expect(map.metadata['']).toMatchObject({
      CLASSES: 'dryout,forest,village,water',
      CLASS_0: 'dryout',
      CLASS_3: 'water',
      ATOMIZER_RUN: RUN,
    });
    expect(map.bands).toHaveLength(1);
    expect(map.bands[0]).toMatchObject({
      type: 'Byte',
      block: [128, 128],
      noDataValue: MAP_NODATA,
      description: 'class',
      overviews: [{ size: [124, 119] }],
    });
  });
});

describe('atomizer predict: windows, nodata, probabilities', () => {
  it('a crop in 32-pixel windows maps as the whole scene in 128-pixel windows wherever it holds the whole patch: window edges do not show', async () => {
    // The crop's 3x3 windows and the scene's 2x2 meet at other places: equal maps mean no seams.
    const small = await run({ input: crop, out: join(dir, 'crop-32.tif'), tileSize: 32 });
    expect(small.halo).toBe(2);
    const a = (await bandsOf(small.output.path))[0]!;
    let compared = 0;
    let differ = 0;
    for (let y = 2; y < CROP - 2; y++) {
      for (let x = 2; x < CROP - 2; x++) {
        // Patches touching the NaN areas see other atoms than on the whole scene.
        if (
          inside({ x0: HOLE.x0 - 2, y0: HOLE.y0 - 2, x1: HOLE.x1 + 2, y1: HOLE.y1 + 2 }, x, y) ||
          inside({ x0: PART.x0 - 2, y0: PART.y0 - 2, x1: PART.x1 + 2, y1: PART.y1 + 2 }, x, y)
        )
          continue;
        compared++;
        if (a[y * CROP + x] !== wholeMap[(CY + y) * 247 + CX + x]) differ++;
      }
    }
    expect(compared).toBeGreaterThan(8000);
    expect(differ).toBe(0);
    // Nodata exactly where every band is missing; a pixel missing one band is still mapped.
    for (let y = 0; y < CROP; y++)
      for (let x = 0; x < CROP; x++) expect(a[y * CROP + x] === MAP_NODATA, `(${x}, ${y})`).toBe(inside(HOLE, x, y));
    expect(small.nodataPixels).toBe(100);
    const info = gdalinfo(small.output.path);
    expect(info.geoTransform).toEqual(gdalinfo(crop).geoTransform);
    expect(info.bands[0]).toMatchObject({ block: [32, 32], overviews: [{ size: [48, 48] }, { size: [24, 24] }] });
  });

  it("--probabilities: one band per class (p x 254), its top class the map's, nodata in every band", async () => {
    const r = await run({ input: crop, out: join(dir, 'crop-p.tif'), probabilities: true, stride: 2 });
    const map = await run({ input: crop, out: join(dir, 'crop-s2.tif'), stride: 2 });
    expect(r.output).toMatchObject({ encoding: 'probabilities', scale: 254, nodata: MAP_NODATA });
    expect(r.pixels).toEqual(map.pixels);
    const p = await bandsOf(r.output.path);
    const m = (await bandsOf(map.output.path))[0]!;
    expect(p).toHaveLength(4);
    for (let i = 0; i < CROP * CROP; i++) {
      const v = p.map((band) => band[i]!);
      if (m[i] === MAP_NODATA) {
        expect(v).toEqual([255, 255, 255, 255]);
        continue;
      }
      const sum = v.reduce((s, x) => s + x, 0);
      expect(Math.abs(sum - 254)).toBeLessThanOrEqual(2);
      expect(v[m[i]!]).toBe(Math.max(...v));
    }
    // Stride 2: each 2x2 block holds one prediction.
    expect(m[0]).toBe(m[1]);
    expect(m[0]).toBe(m[CROP]);
    const info = gdalinfo(r.output.path);
    expect(info.bands.map((b) => b.description)).toEqual(['dryout', 'forest', 'village', 'water']);
    expect(info.bands[0]).toMatchObject({ offset: 0, noDataValue: MAP_NODATA });
    expect(info.bands[0]!.scale as number).toBeCloseTo(1 / 254, 12);
  });
});

describe('atomizer predict: a coarser modality reads the overview', () => {
  it("s2-rgbn-10m@res0.5 over loopback HTTP reads the COG's 124x119 overview and no full-resolution tile (under half the bytes), and maps on its grid", async () => {
    // The whole scene as a COG (32-pixel tiles, overviews 124x119, 62x60, 31x30), served with range support.
    const cog = join(dir, 'sen2-cog.tif');
    await writeCog(cog, 0, 0, 247, 237, 32);
    const bytes = new Uint8Array(await readFile(cog));
    const http = await startRangeServer();
    http.put('/sen2-cog.tif', bytes);
    const url = `${http.url}/sen2-cog.tif`;
    try {
      // Each prediction with an empty block cache: the bytes served are the bytes it needed.
      const fetched = async (modality: string, out: string) => {
        vi.stubEnv('ATOMIZER_CACHE_DIR', join(dir, `cache-${modality}`));
        const before = http.bytesServed();
        const first = http.requests.length;
        const r = await run({ input: url, modality, out: join(dir, out), stride: 4, tileSize: 64 });
        // Last byte asked for by any ranged request.
        const ranges = http.requests.slice(first).flatMap((q) => (q.range === undefined ? [] : [q.range]));
        const reach = Math.max(...ranges.map((range) => Number(/^bytes=\d+-(\d+)$/.exec(range)?.[1] ?? Number.POSITIVE_INFINITY)));
        return { r, bytes: http.bytesServed() - before, reach };
      };
      // The COG writer stores the smallest overview first and the full resolution last.
      const fullTiles = Array.from(
        (await (await (await fromFile(cog)).getImage(0)).getFileDirectory().loadValue('TileOffsets')) as ArrayLike<number>,
      );
      const fullStart = Math.min(...fullTiles);
      const full = await fetched('s2-rgbn-10m', 'full-res.tif');
      const coarse = await fetched('s2-rgbn-10m@res0.5', 'coarse.tif');
      console.log(`COG ${bytes.length} bytes; fetched at full resolution ${full.bytes}, at resolution 0.5 ${coarse.bytes}`);
      expect(full.r.resolution).toBeUndefined();
      expect(full.r.input).toMatchObject({ width: 247, height: 237 });
      // Every block once (the block cache serves the windows' overlap), and not much more than the file.
      expect(full.bytes).toBeLessThanOrEqual(bytes.length);
      expect(full.bytes).toBeGreaterThan(bytes.length * 0.7);
      expect(coarse.r.resolution!.factor).toBe(0.5);
      expect(coarse.r.resolution!.read).toBeCloseTo(0.502, 3);
      expect(coarse.r.input).toMatchObject({ width: 124, height: 119 });
      expect(coarse.r.notes.join('\n')).toMatch(/asks for resolution 0\.5: read the overview at 0\.502 of full resolution \(124x119\)/);
      // No full-resolution tile is read: no request reaches past the block (BLOCK_SIZE) holding the first one.
      expect(coarse.reach).toBeLessThan(Math.ceil((fullStart + 1) / BLOCK_SIZE) * BLOCK_SIZE);
      expect(full.reach).toBe(bytes.length - 1);
      expect(coarse.bytes).toBeLessThan(full.bytes / 2);
      // The map is on the overview's grid: same corner, pixels 247/124 as large.
      const map = gdalinfo(coarse.r.output.path);
      const input = gdalinfo(SCENE);
      expect(map.bands[0]).toMatchObject({ overviews: [{ size: [62, 60] }] });
      expect(map.geoTransform[0]).toBe(input.geoTransform[0]);
      expect(map.geoTransform[3]).toBe(input.geoTransform[3]);
      expect(map.geoTransform[1]! / input.geoTransform[1]!).toBeCloseTo(247 / 124, 9);
      expect(Object.values(coarse.r.pixels).reduce((a, b) => a + b, 0) + coarse.r.nodataPixels).toBe(124 * 119);
    } finally {
      vi.unstubAllEnvs();
      await http.close();
    }
  }, 120_000);
});

describe('atomizer predict: the command', () => {
  it('--json prints the summary (classes, pixels per class, seconds, output path)', async () => {
    const out = join(dir, 'cli.tif');
    const r = await runCli([
      'predict',
      '--run',
      RUN,
      '--s3',
      join(dir, 'store'),
      '--input',
      crop,
      '--sensor',
      's2a',
      '--out',
      out,
      '--stride',
      '4',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as PredictSceneResult;
    expect(s.classes).toEqual(['dryout', 'forest', 'village', 'water']);
    expect(Object.values(s.pixels).reduce((a, b) => a + b, 0) + s.nodataPixels).toBe(CROP * CROP);
    expect(s.seconds).toBeGreaterThan(0);
    expect(s.output.path).toBe(out);
  }, 60_000);

  it('refuses bad input before anything is written, in one line naming it', async () => {
    const out = join(dir, 'bad.tif');
    const cases: Array<[Partial<PredictSceneOptions>, RegExp]> = [
      [
        { input: '/no/such.tif' },
        /^--input \/no\/such\.tif does not exist; give a GeoTIFF, a folder of one scene's band files or a STAC Item/,
      ],
      [{ out: '/no/such/dir/map.tif' }, /^--out \/no\/such\/dir\/map\.tif: folder \/no\/such\/dir does not exist; create it first/],
      [{ out: join(dir, 'map.png') }, /the map is a GeoTIFF; give a path ending in \.tif/],
      [{ run: 'nope' }, /run 'nope' is not in the store .*runs there: pr/],
      [{ checkpoint: '7' }, /checkpoints\/000007\/state\.safetensors of run 'pr' is not in the store; checkpoints kept: rounds 100/],
      [{ sensor: undefined }, /sen2\.tif: cannot tell the sensor: .* fit several sensors .*; pass --sensor <id>/],
      [{ modality: '{"name":"x","sensor":"sentinel-2a","bands":["B99"]}' }, /^--modality .*B99.*; the scene's bands are sentinel-2a:B01, /],
      [{ input: crop, tileSize: 40 }, /--tile-size must be a multiple of 16, got 40/],
    ];
    for (const [extra, message] of cases) {
      await expect(run({ out, ...extra })).rejects.toThrow(message);
    }
    expect((await readdir(dir)).filter((f) => f.startsWith('bad.tif') || f.startsWith('map.png'))).toEqual([]);
  });
});
