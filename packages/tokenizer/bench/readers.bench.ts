// Reader speed on the bundled real data: BigEarthNet patches (12 S2 band files
// + JSON, or 2 S1 files), the sen2.tif scene (12-band deflate float32), the
// Statlog CSV and labelled-scene patch cutting. Prints figures; asserts nothing.
// Run: npx tsx --conditions=@atomizer/source packages/tokenizer/bench/readers.bench.ts

import { cpus } from 'node:os';
import { dataPath } from '../src/data-dir.js';
import { listBigEarthNetPatches, readBigEarthNetPatch, readGeoTiff, readSceneLabels, readStatlog } from '../src/readers/index.js';

async function time<T>(label: string, runs: number, fn: () => Promise<T>): Promise<void> {
  await fn(); // warm-up (JIT, module init, catalogue)
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  const ms = (performance.now() - t0) / runs;
  console.log(`${label.padEnd(48)} ${ms.toFixed(1).padStart(8)} ms`);
}

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`);
const patches = await listBigEarthNetPatches(dataPath('bigearthnet_tiny'));
const s2 = patches.filter((p) => p.includes('/s2/'));
const s1 = patches.filter((p) => p.includes('/s1/'));
let i = 0;
await time('BigEarthNet S2 patch (12 band files + JSON)', 50, () => readBigEarthNetPatch(s2[i++ % s2.length] as string));
await time('BigEarthNet S1 patch (VV + VH + JSON)', 50, () => readBigEarthNetPatch(s1[i++ % s1.length] as string));
await time('sen2.tif 247x237x12 float32 deflate', 5, () => readGeoTiff(dataPath('rstoolbox-sen2', 'sen2.tif'), { sensor: 'sentinel-2a' }));
await time('Statlog CSV, 6435 samples', 3, () => readStatlog(dataPath('statlog', 'statlog_landsat_satellite.csv')));
await time('sen2 + 25 polygons -> 2367 5x5 patches', 3, () =>
  readSceneLabels({
    scene: dataPath('rstoolbox-sen2', 'sen2.tif'),
    sensor: 'sentinel-2a',
    labels: dataPath('rstoolbox-sen2', 'sen2_polygons.geojson'),
    patchSize: 5,
  }),
);
