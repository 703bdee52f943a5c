import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SensorCatalog } from './catalog.js';
import { loadSensorFile, parseSensorDefinition } from './sensor-file.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-sensor-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const YAML_SENSOR = `
# A drone camera (MicaSense RedEdge-MX-like numbers), plus a SAR channel for the schema.
id: my-drone
name: My drone camera
aliases: [drone, MYCAM]
source: vendor datasheet
groups:
  visible: [blue, green, red]
bands:
  - { name: C1, commonName: blue, wavelengthNm: 475, bandwidthNm: 32, gsdM: 0.08 }
  - { name: C2, commonName: green, centerWavelengthUm: 0.56, fwhmUm: 0.027, gsdM: 0.08 }
  - name: C3
    aliases: [R]
    commonName: red
    wavelengthNm: 668
    bandwidthNm: 14
    gsdM: 0.08
  - { name: VV, channelKind: sar-vv, gsdM: 10 }
`;

describe('sensor definition files', () => {
  it('a YAML file becomes a Sensor (micrometres converted, channel bands kept, groups resolved)', async () => {
    const path = join(dir, 'drone.yaml');
    await writeFile(path, YAML_SENSOR);
    const s = await loadSensorFile(path);
    expect(s.id).toBe('my-drone');
    expect(s.aliases).toEqual(['drone', 'MYCAM']);
    expect(s.bands.map((b) => b.kind)).toEqual(['spectral', 'spectral', 'spectral', 'channel']);
    const c2 = s.bands[1]!;
    // 0.56 um = 560 nm and 0.027 um = 27 nm exactly, without float noise.
    expect(c2.kind === 'spectral' && [c2.wavelengthNm, c2.bandwidthNm]).toEqual([560, 27]);
    expect(s.bands[3]).toMatchObject({ name: 'VV', kind: 'channel', channelKind: 'sar-vv', gsdM: 10 });
    expect(s.groups.visible).toEqual(['C1', 'C2', 'C3']);
    expect(s.groups.all).toEqual(['C1', 'C2', 'C3', 'VV']);

    const catalog = SensorCatalog.default();
    catalog.add(s, path);
    expect(catalog.resolveBand('DRONE', 'r').name).toBe('C3');
    expect(catalog.resolveGroup('mycam', ['visible']).map((b) => (b.kind === 'spectral' ? b.wavelengthNm : 0))).toEqual([475, 560, 668]);
    expect(() => catalog.add(s, path)).toThrow(/already used by sensor 'my-drone'/);
  });

  it('a JSON file becomes the same Sensor', async () => {
    const path = join(dir, 'sat.json');
    await writeFile(
      path,
      JSON.stringify({
        id: 'tiny-sat',
        name: 'Tiny sat',
        bands: [
          { name: 'B1', wavelengthNm: 490, bandwidthNm: 65, gsdM: 5 },
          { name: 'B2', centerWavelengthUm: 0.842, fwhmUm: 0.115, gsdM: 5 },
        ],
      }),
    );
    const s = await loadSensorFile(path);
    expect(s.bands.map((b) => (b.kind === 'spectral' ? [b.wavelengthNm, b.bandwidthNm, b.gsdM] : []))).toEqual([
      [490, 65, 5],
      [842, 115, 5],
    ]);
    expect(s.aliases).toEqual([]);
    expect(s.source).toContain('sat.json');
  });

  it('a negative wavelength names the file and field path', async () => {
    const path = join(dir, 'neg.yaml');
    await writeFile(
      path,
      'id: x\nname: X\nbands:\n  - {name: a, wavelengthNm: 500, bandwidthNm: 10, gsdM: 1}\n  - {name: b, wavelengthNm: 600, bandwidthNm: 10, gsdM: 1}\n  - {name: c, wavelengthNm: -5, bandwidthNm: 10, gsdM: 1}\n',
    );
    // Exactly one line: the one field that is wrong.
    await expect(loadSensorFile(path)).rejects.toThrow(new Error(`${path}: bands[2].wavelengthNm: expected a positive number, got -5`));
  });

  it('NaN (YAML .nan), zero and missing numbers name the field', () => {
    const src = 'sensors/my.yaml';
    expect(() =>
      parseSensorDefinition('id: x\nname: X\nbands:\n  - {name: a, wavelengthNm: .nan, bandwidthNm: 10, gsdM: 1}\n', src),
    ).toThrow('sensors/my.yaml: bands[0].wavelengthNm: expected a positive number, got NaN');
    expect(() => parseSensorDefinition('id: x\nname: X\nbands:\n  - {name: a, wavelengthNm: 500, bandwidthNm: 0, gsdM: 1}\n', src)).toThrow(
      'sensors/my.yaml: bands[0].bandwidthNm: expected a positive number, got 0',
    );
    expect(() =>
      parseSensorDefinition({ id: 'x', name: 'X', bands: [{ name: 'a', wavelengthNm: 500, bandwidthNm: 10, gsdM: Number.NaN }] }, src),
    ).toThrow('bands[0].gsdM: expected a positive number, got NaN');
    expect(() => parseSensorDefinition({ id: 'x', name: 'X', bands: [{ name: 'a', wavelengthNm: 500, gsdM: 1 }] }, src)).toThrow(
      /bands\[0\]\.bandwidthNm: expected a positive number .* alongside wavelengthNm/,
    );
    expect(() => parseSensorDefinition({ id: 'x', name: 'X', bands: [{ name: 'a', gsdM: 1 }] }, src)).toThrow(
      /bands\[0\]: expected wavelengthNm \+ bandwidthNm, centerWavelengthUm \+ fwhmUm .* or channelKind/,
    );
    expect(() => parseSensorDefinition({ id: 'x', name: 'X', bands: [{ name: 'a', wavelengthNm: 500, bandwidthNm: 10 }] }, src)).toThrow(
      'bands[0].gsdM: expected a positive number, got undefined',
    );
  });

  it('catches unit mix-ups, mixed forms, typos and empty band lists', () => {
    const src = 'u.json';
    expect(() =>
      parseSensorDefinition({ id: 'x', name: 'X', bands: [{ name: 'a', wavelengthNm: 0.49, bandwidthNm: 0.06, gsdM: 1 }] }, src),
    ).toThrow(/bands\[0\]\.wavelengthNm: expected nanometres, got 0.49 \(micrometres\?/);
    expect(() =>
      parseSensorDefinition(
        { id: 'x', name: 'X', bands: [{ name: 'a', wavelengthNm: 490, bandwidthNm: 60, channelKind: 'dem', gsdM: 1 }] },
        src,
      ),
    ).toThrow(/bands\[0\]: give only one of/);
    expect(() =>
      parseSensorDefinition({ id: 'x', name: 'X', bands: [{ name: 'a', wavelength_nm: 490, bandwidthNm: 60, gsdM: 1 }] }, src),
    ).toThrow(/bands\[0\]: Unrecognized key: "wavelength_nm"/);
    expect(() => parseSensorDefinition({ id: 'x', name: 'X', bands: [] }, src)).toThrow('u.json: bands: expected at least one band');
    expect(() => parseSensorDefinition('[1, 2]', src)).toThrow(/u.json: expected a sensor definition object/);
    expect(() => parseSensorDefinition('{"id": ', src)).toThrow(/u.json: not valid JSON/);
  });

  it('duplicate band names and bad groups are reported with their path', () => {
    expect(() =>
      parseSensorDefinition(
        {
          id: 'x',
          name: 'X',
          bands: [
            { name: 'a', wavelengthNm: 500, bandwidthNm: 10, gsdM: 1 },
            { name: 'A', wavelengthNm: 600, bandwidthNm: 10, gsdM: 1 },
          ],
        },
        'd.yaml',
      ),
    ).toThrow(/d.yaml: bands\[1\]\.name: 'A' is already a name or alias of band 'a'/);
    expect(() =>
      parseSensorDefinition(
        { id: 'x', name: 'X', groups: { rgb: ['a', 'red'] }, bands: [{ name: 'a', wavelengthNm: 500, bandwidthNm: 10, gsdM: 1 }] },
        'd.yaml',
      ),
    ).toThrow(/d.yaml: groups\.rgb\[1\]: unknown band 'red'/);
  });

  it('files of another type or missing files are named', async () => {
    await expect(loadSensorFile(join(dir, 'sensor.txt'))).rejects.toThrow(/sensor\.txt: a sensor file must end in \.json, \.yaml or \.yml/);
    await expect(loadSensorFile(join(dir, 'absent.yml'))).rejects.toThrow(/absent\.yml: cannot read sensor file/);
  });
});
