import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    // docs/model.md section 2: 17 + 16 + 17 + 17 + 9 + 8 = 84.
    expect(report.tokenDim).toBe(84);
    expect(report.bands).toHaveLength(12);
    const b02 = report.bands.find((b) => b.name === 'B02');
    // docs/sensors.md, Sentinel-2A B02: 492.4 nm, 66 nm, 10 m.
    expect(b02).toMatchObject({
      sensor: 'sentinel-2a',
      wavelengthNm: 492.4,
      bandwidthNm: 66,
      gsdM: 10,
      width: 120,
      height: 120,
      atoms: 14_400,
    });
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

  it('a Landsat Level-1 MTL: its band files in physical units, a note naming the MTL and the sun elevation', async () => {
    const mtl = dataPath('landsat_satellite_pkg', 'LE07_L1TP_195025_20010730_20170204_01_T1_MTL.txt');
    const r = await runCli(['atoms', mtl]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `note: Landsat Level-1 MTL ${mtl} applied to LE07_L1TP_195025_20010730_20170204_01_T1: B1, B2, B3, B4, B5, B7, B8 as top-of-atmosphere reflectance (sun elevation 53.88 deg); B6 as brightness temperature (K)`,
    );
    // 7 bands of 41x41 and the pan band of 82x82, none missing.
    expect(r.stdout).toContain(`atoms: ${(7 * 41 * 41 + 82 * 82).toLocaleString('en-US')} (none missing)`);
  });

  it('fails with one line and exit code 1 on an unknown modality; a missing path is named', async () => {
    const bad = await runCli(['atoms', PATCH, '--modality', 's2-nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/unknown modality 's2-nope'; known: .*s2-rgbn-10m/);
    await expect(atomsReport('/no/such/patch', {})).rejects.toThrow(/\/no\/such\/patch does not exist/);
  });

  it('reads a STAC Item: bands and wavelengths from the item, pixels from its local Landsat 8 GeoTIFF assets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-cli-stac-'));
    try {
      const id = 'LC08_L1TP_195025_20130707_20170503_01_T1';
      // STAC 1.0 eo:bands in micrometres, as USGS Collection 2 items give them.
      const rows: Array<[string, string, number, number]> = [
        ['blue', 'B2', 0.48, 0.06],
        ['green', 'B3', 0.56, 0.06],
        ['red', 'B4', 0.65, 0.04],
        ['nir08', 'B5', 0.86, 0.03],
      ];
      const assets = Object.fromEntries(
        rows.map(([key, band, centre, width]) => [
          key,
          {
            href: dataPath('landsat_satellite_pkg', `${id}_${band}.TIF`),
            type: 'image/vnd.stac.geotiff; cloud-optimized=true',
            roles: ['data'],
            'eo:bands': [{ name: band, common_name: key, gsd: 30, center_wavelength: centre, full_width_half_max: width }],
          },
        ]),
      );
      const item = join(dir, 'item.json');
      const properties = { datetime: '2013-07-07T10:17:42Z', platform: 'LANDSAT_8', instruments: ['OLI', 'TIRS'] };
      await writeFile(item, JSON.stringify({ type: 'Feature', stac_version: '1.0.0', id, geometry: null, properties, assets }));
      const r = await runCli(['atoms', item, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as AtomsReport;
      expect(report.id).toBe(id);
      expect(report.time).toBe('2013-07-07T10:17:42Z');
      expect(report.bands.map((b) => [b.name, b.wavelengthNm, b.bandwidthNm, b.gsdM, b.width, b.height])).toEqual([
        ['B2', 480, 60, 30, 41, 41],
        ['B3', 560, 60, 30, 41, 41],
        ['B4', 650, 40, 30, 41, 41],
        ['B5', 860, 30, 30, 41, 41],
      ]);
      // 4 bands of 41x41 pixels (data README), none missing.
      expect(report.atoms).toBe(4 * 41 * 41);
      // A remote asset is fetched; one that cannot be is one line on stderr naming its URL.
      const probe = createServer();
      await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((done) => probe.close(done));
      const url = `http://127.0.0.1:${port}/${id}_B2.TIF`;
      assets.blue = { ...assets.blue!, href: url };
      await writeFile(item, JSON.stringify({ type: 'Feature', stac_version: '1.0.0', id, geometry: null, properties, assets }));
      const bad = await runCli(['atoms', item]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`${url}: cannot reach the server (ECONNREFUSED); check the host name, the port and the network`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
