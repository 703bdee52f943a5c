import { describe, expect, it } from 'vitest';
import type { ModelReport } from './model.js';
import { runCli } from './run-cli.js';

describe('atomizer model', () => {
  it('--json reports the paper preset: about 60 M parameters, token dimension 84, the backend', async () => {
    const r = await runCli(['model', '--model-preset', 'paper', '--backend', 'wasm', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as ModelReport;
    expect(report.config).toMatchObject({ numLatents: 512, latentDim: 512, depth: 8 });
    expect(report.parameters).toBeGreaterThan(59e6);
    expect(report.parameters).toBeLessThan(61e6);
    expect(report.parts.reduce((n, p) => n + p.parameters, 0)).toBe(report.parameters);
    expect(report.tokenDim).toBe(84);
    expect(report.backend.name).toBe('wasm');
  });

  it('prints a table by default; an unknown preset fails with the list of presets', async () => {
    const r = await runCli(['model', '--model-preset', 'small', '--backend', 'cpu']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/latents L x d\s+32 x 64/);
    expect(r.stdout).toContain('token dimension: 84');
    expect(r.stdout).toMatch(/backend: cpu/);
    const bad = await runCli(['model', '--model-preset', 'huge']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Unknown model preset 'huge'.*paper, small, tiny/);
  });
});
