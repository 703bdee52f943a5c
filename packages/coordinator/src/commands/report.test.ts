import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { selectBackend } from '@atomizer/model';
import { LocalStore, parseRunConfig } from '@atomizer/protocol';
import { dataPath } from '@atomizer/tokenizer';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessExecutor, train } from '../engine/index.js';
import { presetsDir } from '../presets.js';
import { PLOT_HEIGHT, PLOT_SCALE, PLOT_WIDTH } from './report-plots.js';
import { readRunArtifacts, writeReport } from './report.js';
import { runCli } from './run-cli.js';

// atomizer report on a real run (tiny model, a few rounds of real Statlog data,
// in-process executor, LocalStore): the files exist, every PNG decodes at the
// size the plots are drawn at, the HTML and Markdown reference them, the same
// run gives the same bytes, and a run that is not there is named.

let dir: string;
let store: LocalStore;
const RUN = 'rep';

beforeAll(async () => {
  await selectBackend('wasm', () => undefined);
  dir = await mkdtemp(join(tmpdir(), 'atomizer-report-'));
  store = new LocalStore(join(dir, 'store'));
  const config = parseRunConfig({
    run: RUN,
    dataset: {
      name: 'statlog',
      source: `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`,
      shardSize: 1000,
      modalities: join(presetsDir(), 'statlog-modalities.yaml'),
    },
    model: { preset: 'tiny' },
    train: { rounds: 6, slices: 2, sliceSamples: 32, lr: 3e-3, warmupRounds: 1, maxAtoms: 36 },
    checkpoint: { every: 3, keep: 1 },
    eval: { every: 3, maxSamples: 32, sliceSamples: 32 },
  });
  await train({ store, executor: new InProcessExecutor(store, 'wasm'), config });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PLOTS = ['loss-lr.png', 'eval-modalities.png', 'eval-history.png', 'throughput.png', 'round-time.png'];

describe('atomizer report', () => {
  it('HTML: index.html beside five PNGs that decode at the drawn size and that it references', async () => {
    const out = join(dir, 'html');
    const w = await writeReport(await readRunArtifacts(store, RUN), { out, format: 'html' });
    expect(w.file).toBe(join(out, 'index.html'));
    expect((await readdir(out)).sort()).toEqual([...PLOTS, 'index.html'].sort());
    const html = await readFile(w.file, 'utf8');
    for (const f of PLOTS) {
      expect(html).toContain(`<img src="${f}"`);
      const png = decode(await readFile(join(out, f)));
      expect([f, png.width, png.height]).toEqual([f, PLOT_WIDTH * PLOT_SCALE, PLOT_HEIGHT * PLOT_SCALE]);
      // Not a blank canvas: a plot draws pixels of several colours.
      const colours = new Set<number>();
      for (let i = 0; i < png.data.length; i += png.channels * 97)
        colours.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
      expect(colours.size).toBeGreaterThan(3);
    }
    // The evaluation table: 9 modalities of the last evaluated round, seen and unseen.
    expect(html).toContain('Evaluation at round 6');
    expect(html.match(/<td>mss-[a-z0-9-]+<\/td><td>(seen|unseen)<\/td>/g)).toHaveLength(9);
    expect(html).toMatch(/<th>state<\/th><td>done at round 6 of 6<\/td>/);
  });

  it('Markdown: report.md with image links; the same run gives byte-identical plots', async () => {
    const a = await writeReport(await readRunArtifacts(store, RUN), { out: join(dir, 'md1'), format: 'md' });
    const b = await writeReport(await readRunArtifacts(store, RUN), { out: join(dir, 'md2'), format: 'md' });
    const md = await readFile(a.file, 'utf8');
    expect(a.file.endsWith('report.md')).toBe(true);
    for (const f of PLOTS) expect(md).toMatch(new RegExp(`!\\[[^\\]]+\\]\\(${f.replace('.', '\\.')}\\)`));
    expect(md).toContain('| test | mss-gr-nir2 | unseen | 32 |');
    expect(await readFile(b.file, 'utf8')).toBe(md);
    for (const f of PLOTS) expect(Buffer.compare(await readFile(join(dir, 'md1', f)), await readFile(join(dir, 'md2', f)))).toBe(0);
  });

  it('--inline: one HTML file with the PNGs as data URIs', async () => {
    const out = join(dir, 'inline');
    const w = await writeReport(await readRunArtifacts(store, RUN), { out, format: 'html', inline: true });
    expect(await readdir(out)).toEqual(['index.html']);
    const html = await readFile(w.file, 'utf8');
    const uris = [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)];
    expect(uris).toHaveLength(PLOTS.length);
    expect(decode(Buffer.from(uris[0]![1]!, 'base64')).width).toBe(PLOT_WIDTH * PLOT_SCALE);
  });

  it('a run id not in the store is named with the runs that are', async () => {
    await expect(readRunArtifacts(store, 'nope')).rejects.toThrow(/run 'nope' is not in the store .*runs there: rep/);
  });

  it('the command writes the folder and lists the plots', async () => {
    const out = join(dir, 'cli');
    const r = await runCli(['report', '--run', RUN, '--s3', join(dir, 'store'), '--out', out, '--format', 'md']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(join(out, 'report.md'));
    expect(r.stdout).toContain(`loss-lr.png (${PLOT_WIDTH * PLOT_SCALE}x${PLOT_HEIGHT * PLOT_SCALE})`);
    expect((await readdir(out)).sort()).toEqual([...PLOTS, 'report.md'].sort());
  }, 60_000);

  it('--json: the report file and each plot in one object', async () => {
    const out = join(dir, 'cli-json');
    const r = await runCli(['report', '--run', RUN, '--s3', join(dir, 'store'), '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      run: string;
      file: string;
      plots: Array<{ file: string; width: number; height: number; title: string }>;
    };
    expect(j.run).toBe(RUN);
    expect(j.file).toBe(join(out, 'index.html'));
    expect(j.plots.map((p) => basename(p.file)).sort()).toEqual([...PLOTS].sort());
    expect(j.plots.every((p) => p.width === PLOT_WIDTH * PLOT_SCALE && p.title.length > 0)).toBe(true);
  }, 60_000);
});
