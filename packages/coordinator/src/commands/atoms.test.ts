import { dataPath } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import { atomsReport, type AtomsReport } from './atoms.js';
import { runCli } from './run-cli.js';

const PATCH = dataPath('bigearthnet_tiny', 's2', 'S2A_MSIL2A_20170617T113321_36_85');

describe('atomizer atoms', () => {
  it('--json reports 80,000 atoms for a BigEarthNet S2 patch (4x120x120 + 6x60x60 + 2x20x20)', async () => {
    const r = await runCli(['atoms', PATCH, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as AtomsReport;
    expect(report.atoms).toBe(80_000);
    expect(report.missing).toBe(0);
    // ATOMIZER.md section 2: 17 + 16 + 17 + 17 + 9 + 8 = 84.
    expect(report.tokenDim).toBe(84);
    expect(report.bands).toHaveLength(12);
    const b02 = report.bands.find((b) => b.name === 'B02');
    // SENSORS.md, Sentinel-2A B02: 492.4 nm, 66 nm, 10 m.
    expect(b02).toMatchObject({ sensor: 'sentinel-2a', wavelengthNm: 492.4, bandwidthNm: 66, gsdM: 10, width: 120, height: 120, atoms: 14_400 });
    expect(report.bands.reduce((n, b) => n + b.atoms, 0)).toBe(80_000);
  });

  it('prints a readable table by default; --modality is applied first', async () => {
    const table = await runCli(['atoms', PATCH]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/B8A\s+sentinel-2a\s+864\.7\s+21\s+20\s+60\s+60\s+3,600/);
    expect(table.stdout).toContain('atoms: 80,000');
    expect(table.stdout).toContain('token dimension: 84');
    // In process (same code path as the command's action, without another process start).
    const half = await atomsReport(PATCH, { modality: 's2-all-20m' });
    // Every band at half resolution: 4x60x60 + 6x30x30 + 2x10x10.
    expect(half.atoms).toBe(20_000);
    expect(half.bands.find((b) => b.name === 'B01')?.gsdM).toBe(120);
  });

  it('fails with one line and exit code 1 on an unknown modality; a missing path is named', async () => {
    const bad = await runCli(['atoms', PATCH, '--modality', 's2-nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/unknown modality 's2-nope'; known: .*s2-rgbn-10m/);
    await expect(atomsReport('/no/such/patch', {})).rejects.toThrow(/\/no\/such\/patch does not exist/);
  });
});
