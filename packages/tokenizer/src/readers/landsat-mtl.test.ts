import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { dataPath } from '../data-dir.js';
import { isMtlPath, parseLandsatMtl, readLandsatMtl } from './landsat-mtl.js';
import { parseOdl } from './odl.js';
import { C2_ID, c2MtlText } from '../testing/landsat-c2-mtl.js';

const L8_ID = 'LC08_L1TP_195025_20130707_20170503_01_T1';
const L7_ID = 'LE07_L1TP_195025_20010730_20170204_01_T1';
const mtlOf = (id: string) => dataPath('landsat_satellite_pkg', `${id}_MTL.txt`);

describe('parseLandsatMtl on the real Collection 1 files', () => {
  it('Landsat 8 OLI/TIRS: 9 reflective bands, 2 thermal, the quality file apart, the sun elevation', async () => {
    const m = await readLandsatMtl(mtlOf(L8_ID));
    expect([m.collection, m.productId, m.level, m.spacecraft, m.sensor, m.sunElevationDeg]).toEqual([
      1,
      L8_ID,
      'L1TP',
      'LANDSAT_8',
      'OLI_TIRS',
      58.9967518,
    ]);
    expect([...m.bands.keys()]).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    expect(m.bands.get('4')).toEqual({
      key: '4',
      file: `${L8_ID}_B4.TIF`,
      reflectance: { mult: 2e-5, add: -0.1 },
      radiance: { mult: 9.6653e-3, add: -48.32638 },
    });
    expect(m.bands.get('10')).toEqual({
      key: '10',
      file: `${L8_ID}_B10.TIF`,
      radiance: { mult: 3.342e-4, add: 0.1 },
      thermal: { k1: 774.8853, k2: 1321.0789 },
    });
    expect(m.qualityFiles).toEqual([`${L8_ID}_BQA.TIF`]);
  });

  it('Landsat 7 ETM+: per-band gains, the two thermal gain files with THERMAL_CONSTANTS, pan', async () => {
    const m = await readLandsatMtl(mtlOf(L7_ID));
    expect([m.collection, m.spacecraft, m.sensor, m.sunElevationDeg]).toEqual([1, 'LANDSAT_7', 'ETM', 53.8776531]);
    expect([...m.bands.keys()]).toEqual(['1', '2', '3', '4', '5', '6_VCID_1', '6_VCID_2', '7', '8']);
    expect(m.bands.get('8')?.reflectance).toEqual({ mult: 2.3947e-3, add: -0.013931 });
    expect(m.bands.get('6_VCID_2')).toEqual({
      key: '6_VCID_2',
      file: `${L7_ID}_B6_VCID_2.TIF`,
      radiance: { mult: 3.7205e-2, add: 3.1628 },
      thermal: { k1: 666.09, k2: 1282.71 },
    });
    expect(m.bands.get('6_VCID_1')?.reflectance).toBeUndefined();
  });
});

describe('parseLandsatMtl on Collection 2', () => {
  it('ODL text: LEVEL1_RADIOMETRIC_RESCALING, IMAGE_ATTRIBUTES/SUN_ELEVATION, LEVEL1_THERMAL_CONSTANTS, QA_PIXEL/QA_RADSAT apart', () => {
    const m = parseLandsatMtl(c2MtlText(), `${C2_ID}_MTL.txt`);
    expect([m.collection, m.productId, m.level, m.spacecraft, m.sensor, m.sunElevationDeg]).toEqual([
      2,
      C2_ID,
      'L1TP',
      'LANDSAT_8',
      'OLI_TIRS',
      58.9967518,
    ]);
    expect(m.bands.get('8')?.reflectance).toEqual({ mult: 2e-5, add: -0.1 });
    expect(m.bands.get('11')?.thermal).toEqual({ k1: 480.8883, k2: 1201.1442 });
    expect(m.qualityFiles).toEqual([`${C2_ID}_QA_PIXEL.TIF`, `${C2_ID}_QA_RADSAT.TIF`]);
  });

  it('the _MTL.json variant (values as strings, as USGS writes it) gives the same', () => {
    const odl = parseOdl(c2MtlText(), 'x_MTL.txt');
    const json = JSON.stringify(odl);
    const fromJson = parseLandsatMtl(json, `${C2_ID}_MTL.json`);
    const fromText = parseLandsatMtl(c2MtlText(), `${C2_ID}_MTL.json`);
    expect(fromJson).toEqual(fromText);
    expect(() => parseLandsatMtl('{"LANDSAT_METADATA_FILE": ', 'x_MTL.json')).toThrow(/^x_MTL\.json: not valid JSON/);
  });

  it('isMtlPath: _MTL.txt and _MTL.json only', () => {
    expect([`${C2_ID}_MTL.txt`, 'a/b_MTL.json', 'b_MTL.xml', 'b_B4.TIF', 'MTL.txt'].map(isMtlPath)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('malformed MTL: one line naming the file and the key or line', () => {
  it('a missing, non-numeric or impossible value names the key', () => {
    expect(() => parseLandsatMtl(c2MtlText({ drop: 'REFLECTANCE_ADD_BAND_4' }), 'c2_MTL.txt')).toThrow(
      /^c2_MTL\.txt: LEVEL1_RADIOMETRIC_RESCALING\/REFLECTANCE_ADD_BAND_4 is missing$/,
    );
    expect(() => parseLandsatMtl(c2MtlText({ sunElevation: 'high' }), 'c2_MTL.txt')).toThrow(
      /^c2_MTL\.txt: IMAGE_ATTRIBUTES\/SUN_ELEVATION is 'high'; expected a number$/,
    );
    expect(() => parseLandsatMtl(c2MtlText({ sunElevation: '-3.5' }), 'c2_MTL.txt')).toThrow(
      /SUN_ELEVATION is -3.5; expected a sun above the horizon/,
    );
    expect(() => parseLandsatMtl(c2MtlText({ drop: 'SUN_ELEVATION' }), 'c2_MTL.txt')).toThrow(/IMAGE_ATTRIBUTES\/SUN_ELEVATION is missing/);
    expect(() => parseLandsatMtl(c2MtlText({ drop: 'K2_CONSTANT_BAND_11' }), 'c2_MTL.txt')).toThrow(
      /LEVEL1_THERMAL_CONSTANTS\/K2_CONSTANT_BAND_11 is missing/,
    );
  });

  it('broken ODL names the line; a file of another kind says what was expected', async () => {
    const real = await readFile(mtlOf(L8_ID), 'utf8');
    const lines = real.split('\n');
    const cut = lines.slice(0, 120).join('\n');
    expect(() => parseLandsatMtl(cut, 'cut_MTL.txt')).toThrow(/^cut_MTL\.txt: group \w+ is never closed \(END_GROUP missing\)/);
    const garbled = [...lines.slice(0, 5), '    LANDSAT_SCENE_ID "LC8"', ...lines.slice(5)].join('\n');
    expect(() => parseLandsatMtl(garbled, 'g_MTL.txt')).toThrow(/^g_MTL\.txt: line 6: 'LANDSAT_SCENE_ID "LC8"' is not KEY = value/);
    const wrongClose = real.replace('END_GROUP = IMAGE_ATTRIBUTES', 'END_GROUP = PRODUCT_METADATA');
    expect(() => parseLandsatMtl(wrongClose, 'w_MTL.txt')).toThrow(/line \d+: END_GROUP = PRODUCT_METADATA closes group IMAGE_ATTRIBUTES/);
    expect(() => parseLandsatMtl('GROUP = OTHER\nEND_GROUP = OTHER\nEND\n', 'o_MTL.txt')).toThrow(
      /^o_MTL\.txt: not a Landsat MTL file: no group LANDSAT_METADATA_FILE \(Collection 2\) nor L1_METADATA_FILE \(Collection 1\)$/,
    );
    await expect(readLandsatMtl('/nonexistent/x_MTL.txt')).rejects.toThrow(/^\/nonexistent\/x_MTL\.txt: cannot read the Landsat MTL file/);
  });
});
