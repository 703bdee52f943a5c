import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRedis } from '@atomizer/protocol/redis';
import { dataPath } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// The README's main command, shortened (3 rounds) so the suite stays fast: it
// starts Redis, S3, two worker processes and the dashboard, trains on the real
// Statlog data, evaluates seen and unseen modalities beside the baseline, and
// shuts everything down. The full-length run is measured in docs/benchmarks.md.
describe('atomizer demo', () => {
  it('trains on Statlog with 2 workers, reports seen and unseen modalities with the baseline, and stops everything it started', async () => {
    const r = await runCli([
      'demo',
      '--json',
      '--port',
      '0',
      '--train-rounds',
      '3',
      '--train-mode',
      'sync',
      '--eval-max-samples',
      '300',
      '--eval-slice-samples',
      '150',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      state: string;
      rounds: number;
      workers: number;
      dashboard: string;
      redis: string;
      reference: { accuracy: number };
      results: Array<{
        split: string;
        modality: string;
        seen: string;
        samples: number;
        accuracy: number;
        macroF1: number;
        baselineAccuracy: number;
      }>;
    };
    expect(out).toMatchObject({ state: 'done', rounds: 3, workers: 2, reference: { accuracy: 0.906 } });
    const seen = out.results.filter((x) => x.seen === 'seen');
    const unseen = out.results.filter((x) => x.seen === 'unseen');
    expect(seen.map((x) => x.modality)).toContain('mss-grn');
    expect(unseen.map((x) => x.modality)).toEqual(expect.arrayContaining(['mss-gr-nir2', 'mss-all', 'mss-grn-240m']));
    for (const x of out.results) {
      expect(x.samples).toBe(300);
      expect(x.accuracy).toBeGreaterThanOrEqual(0);
      expect(x.accuracy).toBeLessThanOrEqual(1);
      expect(x.baselineAccuracy).toBeGreaterThan(1 / 6); // the baseline trains fully: well above chance
    }
    // Everything it started is gone: Redis and the dashboard no longer answer.
    await expect(checkRedis(out.redis, 500)).rejects.toThrow(/does not answer/);
    await expect(fetch(out.dashboard)).rejects.toThrow();
    expect(r.stderr).toMatch(/round 3\/3/);
  }, 300_000);

  it('--store keeps the run in a folder that atomizer eval then scores', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-demo-store-'));
    try {
      const r = await runCli([
        'demo',
        '--json',
        '--port',
        '0',
        '--store',
        dir,
        '--no-baseline',
        '--train-rounds',
        '2',
        '--train-mode',
        'sync',
        '--eval-max-samples',
        '100',
        '--eval-slice-samples',
        '100',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { run: string; state: string; store: string };
      expect(out).toMatchObject({ state: 'done', store: dir });
      const statlog = `statlog:${dataPath('statlog', 'statlog_landsat_satellite.csv')}`;
      const ev = await runCli([
        'eval',
        '--run',
        out.run,
        '--s3',
        dir,
        '--dataset',
        statlog,
        '--modality',
        'mss-grn',
        '--max-samples',
        '50',
        '--backend',
        'wasm',
        '--json',
      ]);
      expect(ev.code, ev.stderr).toBe(0);
      const scored = JSON.parse(ev.stdout) as { run: string; modalities: Array<{ modality: string; samples: number; accuracy: number }> };
      expect(scored.run).toBe(out.run);
      expect(scored.modalities).toEqual([expect.objectContaining({ modality: 'mss-grn', samples: 50 })]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
