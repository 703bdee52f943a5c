import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { STATLOG_CLASSES, readStatlog, type StatlogItem } from './statlog.js';

const CSV = dataPath('statlog', 'statlog_landsat_satellite.csv');
let items: StatlogItem[];
let tmp: string;
beforeAll(async () => {
  items = await readStatlog(CSV);
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-statlog-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('readStatlog', () => {
  it('6435 rows: the first 4435 train, the last 2000 test', () => {
    expect(items.length).toBe(6435);
    expect(items.filter((i) => i.split === 'train').length).toBe(4435);
    expect(items.slice(4435).every((i) => i.split === 'test')).toBe(true);
  });

  it('class counts match the UCI documentation of the standard split', () => {
    const count = (split: string) =>
      STATLOG_CLASSES.map((_, c) => items.filter((i) => i.split === split && i.sample.labels[0] === c).length);
    // UCI Statlog (Landsat Satellite) doc: train 1072/479/961/415/470/1038, test 461/224/397/211/237/470.
    expect(count('train')).toEqual([1072, 479, 961, 415, 470, 1038]);
    expect(count('test')).toEqual([461, 224, 397, 211, 237, 470]);
  });

  it('row 0 is 4 uint8 3x3 landsat-mss bands, pixel-major, at 80 m', () => {
    const s = items[0]!.sample;
    expect(s.bands.map((b) => [b.name, b.sensor, b.width, b.height, b.gsdM])).toEqual([
      ['MSS4', 'landsat-mss', 3, 3, 80],
      ['MSS5', 'landsat-mss', 3, 3, 80],
      ['MSS6', 'landsat-mss', 3, 3, 80],
      ['MSS7', 'landsat-mss', 3, 3, 80],
    ]);
    expect(s.bands.map((b) => (b.kind === 'spectral' ? b.wavelengthNm : 0))).toEqual([550, 650, 750, 950]);
    expect(s.bands.every((b) => b.values instanceof Uint8Array)).toBe(true);
    // CSV line 2: 92,115,120,94 | 84,102,106,79 | ... | x.17..x.20 = 92,112,118,85 | ... | 84,107,113,87
    expect(Array.from(s.bands.map((b) => b.values[0]))).toEqual([92, 115, 120, 94]);
    expect(Array.from(s.bands.map((b) => b.values[1]))).toEqual([84, 102, 106, 79]);
    expect(Array.from(s.bands.map((b) => b.values[4]))).toEqual([92, 112, 118, 85]);
    expect(Array.from(s.bands.map((b) => b.values[8]))).toEqual([84, 107, 113, 87]);
    expect(STATLOG_CLASSES[s.labels[0]!]).toBe('grey soil');
  });

  it('a row with a wrong column count is an Error naming the line', async () => {
    const lines = (await readFile(CSV, 'utf8')).split('\n').slice(0, 4);
    lines[2] = lines[2]!.replace(/^\d+,/, '');
    const bad = join(tmp, 'short.csv');
    await writeFile(bad, lines.join('\n'));
    await expect(readStatlog(bad)).rejects.toThrow(/short\.csv: line 3: 36 columns, expected 37/);
  });

  it('a non-numeric value is an Error naming the line and column', async () => {
    const lines = (await readFile(CSV, 'utf8')).split('\n').slice(0, 4);
    lines[3] = lines[3]!.replace(/^(\d+),(\d+),/, '$1,x,');
    const bad = join(tmp, 'text.csv');
    await writeFile(bad, lines.join('\n'));
    await expect(readStatlog(bad)).rejects.toThrow(/text\.csv: line 4: column x\.2 is 'x', expected an integer 0\.\.255/);
  });
});
