import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '@atomizer/model';
import { LocalStore, parseRunConfig, runKeys } from '@atomizer/protocol';
import { dataPath } from '@atomizer/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLandsatLandfireScene } from '../../bench/landsat8-landfire.js';
import { InProcessExecutor, train } from '../engine/index.js';
import { evalCheckpoint, type EvalCheckpointOptions } from './eval-checkpoint.js';
import { predictScene } from './predict-scene.js';
import { formatEvalResult } from './eval.js';
import { runCli } from './run-cli.js';

// atomizer eval on the only real labelled scene of another sensor in the data:
// Landsat-8 surface reflectance (B4, B5, B6; uint16 DN, no scale metadata) with
// LANDFIRE vegetation types, mapped onto the Sentinel-2 scene's classes by the
// bench's legend (bench/landsat8-landfire.ts), every 4th labelled pixel. The run: a tiny model trained a few rounds on the real
// Sentinel-2 scene, tested on Landsat-8 simulated from it (so its manifest
// holds Landsat-8 reflectance statistics of the simulated view), as the
// sen2-sensors preset is. The figures are not the point (docs/benchmarks.md);
// which modalities apply and which statistics normalise the bands are.
// The same run also reads the real Landsat-8 Level-1 scene of
// landsat_satellite_pkg (DN, with its MTL): through the MTL its bands are TOA
// reflectance, in the units of the run's Landsat-8 reflectance statistics.

const L8 = (f: string) => dataPath('landsat8_landfire_gdalraster', f);
const L1_ID = 'LC08_L1TP_195025_20130707_20170503_01_T1';
const L1_MTL = dataPath('landsat_satellite_pkg', `${L1_ID}_MTL.txt`);
const L1_NOTE = `Landsat Level-1 MTL ${L1_MTL} applied to ${L1_ID}: B1, B2, B3, B4, B5, B6, B7, B8, B9 as top-of-atmosphere reflectance (sun elevation 59.00 deg); B10, B11 as brightness temperature (K)`;
const SEN2 = `scene:${dataPath('rstoolbox-sen2', 'sen2.tif')}?labels=${dataPath('rstoolbox-sen2', 'sen2_polygons.geojson')}&sensor=s2a&k=5&offset=-0.1&maxPerGroup=12`;
const RUN = 'xs';

let dir: string;
let store: LocalStore;
let dn: string;
let sr: string;

beforeAll(async () => {
  await selectBackend('wasm', () => undefined);
  dir = await mkdtemp(join(tmpdir(), 'atomizer-eval-landsat-'));
  store = new LocalStore(join(dir, 'store'));
  const modalities = join(dir, 'modalities.yaml');
  await writeFile(
    modalities,
    ['train: [s2-rgbn-10m, s2-all]', 'val: []', 'test:', '  - name: landsat8-oli', '    simulate: { sensor: landsat-8 }'].join('\n'),
  );
  const config = parseRunConfig({
    run: RUN,
    dataset: { name: 'sen2-small', source: SEN2, shardSize: 1000, modalities },
    model: { preset: 'tiny' },
    train: { rounds: 3, slices: 1, sliceSamples: 16, lr: 3e-3, warmupRounds: 1, maxAtoms: 64 },
    eval: { every: 0, maxSamples: 32, sliceSamples: 32 },
  });
  await train({ store, executor: new InProcessExecutor(store, 'wasm'), config });
  dn = await writeLandsatLandfireScene(join(dir, 'dn.yaml'), { stride: 4, reflectance: false });
  sr = await writeLandsatLandfireScene(join(dir, 'sr.yaml'), { stride: 4, reflectance: true });
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function opts(extra: Partial<EvalCheckpointOptions>): { o: EvalCheckpointOptions; started: () => boolean } {
  let started = false;
  return {
    o: {
      store,
      run: RUN,
      dataset: dn,
      split: 'all',
      backend: async () => {
        started = true;
        return 'wasm';
      },
      ...extra,
    },
    started: () => started,
  };
}

describe('atomizer eval on the real Landsat-8 LANDFIRE scene', () => {
  it("as read (DN): the simulated Landsat-8 test modality left out, the bands on this scene's own statistics (other units than the run's), metrics over the shared classes", async () => {
    const r = await evalCheckpoint(opts({}).o);
    expect(r.modalities.map((m) => [m.modality, m.seen])).toEqual([['native', 'unseen']]);
    const notes = r.notes.join('\n');
    expect(notes).toMatch(
      /left out the run's modalities landsat8-oli: they simulate landsat-8 from imagery of the sensor the run trained on \(sentinel-2a\), and this imagery is landsat-8/,
    );
    expect(notes).toMatch(
      /landsat-8:B4, landsat-8:B5, landsat-8:B6 normalised with this dataset's own statistics, not the run's: not in the units of the run's statistics/,
    );
    expect(r.normalisation.map((n) => [n.band, n.source])).toEqual([
      ['landsat-8:B4', 'dataset'],
      ['landsat-8:B5', 'dataset'],
      ['landsat-8:B6', 'dataset'],
    ]);
    expect(r.normalisation[0]!.mean).toBeGreaterThan(5000);
    expect(r.scoredClasses).toEqual(['dryout', 'forest', 'water']);
    const m = r.modalities[0]!;
    expect(m.samples).toBeGreaterThan(400);
    expect(m.confusion!.flat().reduce((a, b) => a + b, 0)).toBe(m.samples);
    expect(m.seenReason).toBe('sensor landsat-8 never in training (run trained on sentinel-2a)');
    expect(formatEvalResult(r)).toMatch(
      /normalisation per band \(--stats auto\):\n.*\n {2}landsat-8:B4 +this dataset's own statistics +landsat-8:B4 \(this dataset, \d+ values; the run's landsat-8:B4 is in other units\)/,
    );
  }, 120_000);

  it("in surface reflectance (the description's scale/offset): the run's Landsat-8 statistics, no units note", async () => {
    const r = await evalCheckpoint(opts({ dataset: sr }).o);
    expect(r.normalisation.map((n) => [n.band, n.source, n.stats])).toEqual([
      ['landsat-8:B4', 'run', 'landsat-8:B4'],
      ['landsat-8:B5', 'run', 'landsat-8:B5'],
      ['landsat-8:B6', 'run', 'landsat-8:B6'],
    ]);
    expect(r.notes.join('\n')).not.toMatch(/units/);
  }, 120_000);

  it("--stats run forces the run's statistics on DN; --stats dataset takes the scene's own on reflectance", async () => {
    const forced = await evalCheckpoint(opts({ stats: 'run' }).o);
    expect(forced.stats).toBe('run');
    expect(forced.normalisation.map((n) => n.source)).toEqual(['run', 'run', 'run']);
    expect(forced.notes.join('\n')).not.toMatch(/units/);
    const own = await evalCheckpoint(opts({ dataset: sr, stats: 'dataset' }).o);
    expect(own.normalisation.map((n) => n.source)).toEqual(['dataset', 'dataset', 'dataset']);
    expect(own.normalisation[0]!.mean).toBeLessThan(1);
  }, 120_000);

  it('the simulated modality named explicitly: refused before the model runs, saying why', async () => {
    const { o, started } = opts({ modalities: ['landsat8-oli'] });
    await expect(evalCheckpoint(o)).rejects.toThrow(
      /^--modality landsat8-oli: modality 'landsat8-oli' simulates landsat-8 from imagery of the sensor the run trained on \(sentinel-2a\), and this imagery is landsat-8: .*; the dataset's bands are landsat-8:B4, landsat-8:B5, landsat-8:B6/,
    );
    expect(started()).toBe(false);
  });

  it('a statistics choice eval does not know, or a strategy the run does not: one line naming it, nothing written', async () => {
    const out = join(dir, 'map.tif');
    for (const cmd of [
      ['eval', '--run', RUN, '--s3', join(dir, 'store'), '--dataset', dn, '--stats', 'scene'],
      ['predict', '--run', RUN, '--s3', join(dir, 'store'), '--input', L8('sr_b4_20200829.tif'), '--out', out, '--stats', 'scene'],
    ]) {
      const r = await runCli(cmd);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `atomizer: option '--stats <source>' argument 'scene' is invalid. Allowed choices are auto, run, dataset. (see atomizer ${cmd[0]} --help)`,
      ]);
      expect(r.stdout).toBe('');
    }
    await expect(access(out)).rejects.toThrow();
    // A run whose stored config names a strategy this version does not know.
    const other = new LocalStore(join(dir, 'unknown-strategy'));
    const stored = JSON.parse(new TextDecoder().decode(await store.get(runKeys(RUN).config))) as {
      config: { dataset: { normalisation: string } };
    };
    stored.config.dataset.normalisation = 'per-scene';
    await other.put(runKeys(RUN).config, new TextEncoder().encode(JSON.stringify(stored)));
    for (const k of await store.list('datasets/')) await other.put(k, await store.get(k));
    const { o, started } = opts({ store: other });
    await expect(evalCheckpoint(o)).rejects.toThrow(
      /^runs\/xs\/config\.json: not a valid stored run: config\.dataset\.normalisation: .*"train-split"\|"image"$/,
    );
    expect(started()).toBe(false);
  }, 120_000);
});

describe('a real Landsat-8 Level-1 scene (DN) read through its MTL by eval and predict', () => {
  const reflective = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7'].map((b) => `landsat-8:${b}`);

  it("eval: TOA reflectance on the run's Landsat-8 statistics, a note naming the MTL and the sun elevation; mtl=off: DN, in other units", async () => {
    const r = await evalCheckpoint(opts({ dataset: `geotiff:${L1_MTL}` }).o);
    expect(r.notes[0]).toBe(L1_NOTE);
    const bySource = new Map(r.normalisation.map((n) => [n.band, n]));
    // The run knows Landsat-8 reflectance (its simulated test view): the TOA bands are in its units.
    for (const b of reflective) expect([b, bySource.get(b)?.source]).toEqual([b, 'run']);
    expect(r.notes.join('\n')).not.toMatch(/units/);
    // The thermal bands are in kelvin, on the scene's own statistics (no run statistics for them).
    expect(bySource.get('landsat-8:B10')?.source).toBe('dataset');
    expect(bySource.get('landsat-8:B10')!.mean).toBeGreaterThan(290);
    expect(bySource.get('landsat-8:B10')!.mean).toBeLessThan(310);
    expect(formatEvalResult(r)).toContain(`note: ${L1_NOTE}`);

    const dn = await evalCheckpoint(opts({ dataset: `geotiff:${L1_MTL}?mtl=off` }).o);
    expect(dn.notes.join('\n')).not.toMatch(/Level-1 MTL .* applied/);
    const dnSource = new Map(dn.normalisation.map((n) => [n.band, n]));
    for (const b of reflective) expect([b, dnSource.get(b)?.source]).toEqual([b, 'dataset']);
    expect(dn.notes.join('\n')).toMatch(/not in the units of the run's statistics.*a Landsat Level-1 scene's MTL/);
  }, 120_000);

  it('predict --input <MTL>: the map of the scene read in TOA reflectance, the same note', async () => {
    const out = join(dir, 'l1-map.tif');
    const r = await predictScene({ store, run: RUN, input: L1_MTL, out, backend: 'wasm' });
    expect(r.notes[0]).toBe(L1_NOTE);
    expect([r.input.width, r.input.height]).toEqual([82, 82]);
    expect(r.normalisation.filter((n) => reflective.includes(n.band)).map((n) => n.source)).toEqual(reflective.map(() => 'run'));
    const cli = await runCli(['predict', '--run', RUN, '--s3', join(dir, 'store'), '--input', L1_MTL, '--out', join(dir, 'l1-cli.tif')]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`note: ${L1_NOTE}`);
  }, 120_000);
});
