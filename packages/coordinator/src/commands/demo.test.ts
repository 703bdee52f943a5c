import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('atomizer demo', () => {
  it('shards the bundled data into an embedded S3, reads a shard back and encodes a batch', async () => {
    const r = await runCli(['demo']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const row = (name: string) => lines.find((l) => l.startsWith(name) && /\b(multi|single)\b/.test(l))?.trim().split(/\s{2,}/);
    // Statlog keeps its standard split: 4,435 train rows, 2,000 test rows, 36 atoms each.
    expect(row('statlog')?.slice(1, 6)).toEqual(['single', '6', '4,435', '0', '2,000']);
    expect(row('statlog')?.[7]).toBe((6435 * 36).toLocaleString('en-US'));
    // 11 BigEarthNet S2 patches of 80,000 atoms, split by name hash.
    const ben = row('bigearthnet-s2-tiny');
    expect(ben?.slice(1, 3)).toEqual(['multi', '19']);
    expect(ben!.slice(3, 6).map((n) => Number(n.replace(/,/g, ''))).reduce((a, b) => a + b, 0)).toBe(11);
    expect(ben?.[7]).toBe('880,000');
    expect(r.stdout).toMatch(/test \(unseen\) s2-swir-only, s2-all-20m, s2-rededge-crop/);
    // The encode table: 4 samples x 2 train modalities x 4096 atoms, token dimension 84.
    expect(r.stdout).toMatch(/bigearthnet-s2-tiny\s+4\s+s2-all, s2-rgbn-10m\s+[\d.]+\s+[\d,]+\s+32,768\s+84\s+[\d,]+/);
  });
});
