// Encoding throughput on the real BigEarthNet Sentinel-2 patches, one thread.
//   npx tsx --conditions=@atomizer/source packages/tokenizer/bench/encode.bench.ts [--max-atoms N] [--rounds R]
// Prints atoms/s for encode only, and for atomize + subsample + encode, with
// the machine it ran on. Target: >= 2,000,000 atoms/s per core for encode.

import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { atomize } from '../src/atomize.js';
import { BandStatsAccumulator } from '../src/band-stats.js';
import { dataPath } from '../src/data-dir.js';
import { defaultEncodingConfig, tokenLayout } from '../src/encoding-config.js';
import { listBigEarthNetPatches, readBigEarthNetPatch } from '../src/readers/index.js';
import { SeededRng } from '../src/rng.js';
import { subsampleAtoms } from '../src/subsample.js';
import { TokenEncoder } from '../src/tokens.js';
import type { AtomSet, Sample } from '../src/types.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: expected a positive number, got ${process.argv[i + 1]}`);
  return v;
}

const maxAtoms = arg('--max-atoms', 20000);
const rounds = arg('--rounds', 7);

async function loadPatches(): Promise<Sample[]> {
  const patches = await listBigEarthNetPatches(dataPath('bigearthnet_tiny', 's2'));
  const samples: Sample[] = [];
  for (const patch of patches.sort()) samples.push(await readBigEarthNetPatch(patch));
  return samples;
}

const samples = await loadPatches();
const acc = new BandStatsAccumulator();
for (const s of samples) acc.add(s);
const stats = new Map(acc.result().map((s) => [s.key, s]));
const cfg = defaultEncodingConfig();
const encoder = new TokenEncoder(cfg);
const dim = tokenLayout(cfg).dim;

// Atomize once for the encode-only figure.
const full: AtomSet[] = samples.map((s) => atomize(s, { stats }).atoms);
const totalFull = full.reduce((a, s) => a + s.length, 0);
const out = new Float32Array(totalFull * dim);

/**
 * Times `rounds` runs of fn after a warm-up. The machine is shared, so
 * besides wall time it reports atoms per CPU-second of this process
 * (process.cpuUsage, user + system): the per-core figure, insensitive to
 * other processes taking turns on the cores.
 */
function timeIt(label: string, atomsPerRound: number, fn: () => void): number {
  fn(); // warm-up (JIT)
  const secs: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    secs.push((performance.now() - t0) / 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  secs.sort((a, b) => a - b);
  const perCpu = (atomsPerRound * rounds) / cpuSec;
  const best = atomsPerRound / (secs[0] as number);
  const m = (v: number) => (v / 1e6).toFixed(2).padStart(5);
  console.log(
    `${label.padEnd(30)} ${m(perCpu)} M atoms/CPU-s | wall: best round ${m(best)} M atoms/s  (${atomsPerRound} atoms x ${rounds})`,
  );
  return perCpu;
}

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, single thread`);
console.log(`${samples.length} BigEarthNet S2 patches, ${totalFull} atoms, token dim ${dim}, maxAtoms ${maxAtoms}`);

const encodeRate = timeIt('encode only (all atoms)', totalFull, () => {
  for (const a of full) encoder.encode(a, out);
});

let subTotal = 0;
const sub = full.map((a, i) => subsampleAtoms(a, maxAtoms, new SeededRng(i)));
for (const s of sub) subTotal += s.length;
timeIt('subsample + encode', subTotal, () => {
  samples.forEach((_, i) => encoder.encode(subsampleAtoms(full[i] as AtomSet, maxAtoms, new SeededRng(i)), out));
});

timeIt('atomize + subsample + encode', subTotal, () => {
  samples.forEach((s, i) => encoder.encode(subsampleAtoms(atomize(s, { stats }).atoms, maxAtoms, new SeededRng(i)), out));
});

timeIt('atomize + encode (all atoms)', totalFull, () => {
  for (const s of samples) encoder.encode(atomize(s, { stats }).atoms, out);
});

console.log(
  `encode target 2.00 M atoms/s per core: ${encodeRate >= 2e6 ? 'reached' : 'NOT reached'} (${(encodeRate / 1e6).toFixed(2)} M atoms per CPU-second; load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores)`,
);
