import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atomize } from '../atomize.js';
import { dataPath } from '../data-dir.js';
import { listBigEarthNetPatches, readBigEarthNetPatch } from './bigearthnet.js';
import { BIGEARTHNET_19_CLASSES, BIGEARTHNET_43_CLASSES, BIGEARTHNET_43_TO_19, bigEarthNetLabelIndices } from './bigearthnet-classes.js';

const ROOT = dataPath('bigearthnet_tiny');
const S2_PATCH = 'S2A_MSIL2A_20170617T113321_36_85';
const S1_PATCH = 'S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_40';

let tmp: string;
let patches: string[];
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-ben-'));
  patches = await listBigEarthNetPatches(ROOT);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const metadata = async (folder: string) =>
  JSON.parse(await readFile(join(folder, `${basename(folder)}_labels_metadata.json`), 'utf8')) as { labels: string[] };

describe('listBigEarthNetPatches', () => {
  it('finds the 11 S2 and 3 S1 patch folders of bigearthnet_tiny', () => {
    expect(patches.filter((p) => p.includes('/s2/')).length).toBe(11);
    expect(patches.filter((p) => p.includes('/s1/')).length).toBe(3);
  });
});

describe('readBigEarthNetPatch on every real patch', () => {
  const GSD: Record<string, number> = {
    B01: 60,
    B09: 60,
    B02: 10,
    B03: 10,
    B04: 10,
    B08: 10,
    B05: 20,
    B06: 20,
    B07: 20,
    B8A: 20,
    B11: 20,
    B12: 20,
  };

  it('S2: 12 uint16 bands at native size (4x120x120 + 6x60x60 + 2x20x20 = 80,000 values), GSD 10/20/60 m', async () => {
    const s2 = patches.filter((p) => p.includes('/s2/'));
    for (const folder of s2) {
      const s = await readBigEarthNetPatch(folder);
      expect(s.bands.length, folder).toBe(12);
      expect(s.bands[0]!.sensor).toBe(basename(folder).startsWith('S2A') ? 'sentinel-2a' : 'sentinel-2b');
      let total = 0;
      for (const b of s.bands) {
        const side = ({ 10: 120, 20: 60, 60: 20 } as Record<number, number>)[GSD[b.name]!];
        expect([b.name, b.width, b.height, b.gsdM]).toEqual([b.name, side, side, GSD[b.name]]);
        expect(b.values).toBeInstanceOf(Uint16Array);
        expect(b.scale).toBe(1e-4); // reflectance x 10000
        total += b.values.length;
      }
      expect(total).toBe(80_000);
      // The 43-class labels, read back through the 43 list, are exactly the JSON's.
      const s43 = await readBigEarthNetPatch(folder, { nomenclature: 43 });
      expect(s43.labels.map((i) => BIGEARTHNET_43_CLASSES[i]).sort()).toEqual([...(await metadata(folder)).labels].sort());
    }
  });

  it('S1: 2 float32 channel bands VV, VH of 120x120 at 10 m, time from acquisition_time', async () => {
    for (const folder of patches.filter((p) => p.includes('/s1/'))) {
      const s = await readBigEarthNetPatch(folder);
      expect(s.bands.map((b) => [b.name, b.kind, b.kind === 'channel' ? b.channelKind : '', b.width, b.height, b.gsdM])).toEqual([
        ['VV', 'channel', 'sar-vv', 120, 120, 10],
        ['VH', 'channel', 'sar-vh', 120, 120, 10],
      ]);
      expect(s.bands[0]!.values).toBeInstanceOf(Float32Array);
      expect(s.bands[0]!.scale).toBe(1);
      // 2017-06-13: 31+28+31+30+31 = 151 days before June, +13.
      expect(s.time).toEqual({ iso: '2017-06-13T16:50:43Z', year: 2017, doy: 164 });
    }
  });

  it('labels map to the 19-class nomenclature (hand-mapped from the docs/datasets.md table)', async () => {
    const s2 = await readBigEarthNetPatch(join(ROOT, 's2', S2_PATCH));
    // Non-irrigated arable land -> Arable land; Pastures -> Pastures.
    expect(s2.labels.map((i) => BIGEARTHNET_19_CLASSES[i])).toEqual(['Arable land', 'Pastures']);
    expect(s2.time).toEqual({ iso: '2017-06-17T11:33:21Z', year: 2017, doy: 168 });
    const s1 = await readBigEarthNetPatch(join(ROOT, 's1', S1_PATCH));
    expect(s1.labels.map((i) => BIGEARTHNET_19_CLASSES[i]).sort()).toEqual(
      [
        'Urban fabric', // Discontinuous urban fabric
        'Arable land', // Non-irrigated arable land
        'Land principally occupied by agriculture, with significant areas of natural vegetation',
        'Broad-leaved forest',
        'Inland wetlands', // Inland marshes
        'Inland waters', // Water courses
      ].sort(),
    );
  });
});

describe('real patch -> atoms', () => {
  it('an S2 patch gives 80,000 atoms, 10 m atoms on a 10 m grid and 60 m atoms on a 60 m grid, over the same footprint', async () => {
    const s = await readBigEarthNetPatch(join(ROOT, 's2', S2_PATCH));
    const { atoms, missing } = atomize(s, { normalize: 'none' });
    expect(atoms.length).toBe(80_000);
    expect(missing).toBe(0);
    const xsOf = (name: string) => {
      const b = atoms.bands.findIndex((x) => x.name === name);
      const xs = new Set<number>();
      for (let i = 0; i < atoms.length; i++) if (atoms.band[i] === b) xs.add(atoms.x[i]!);
      return [...xs].sort((p, q) => p - q);
    };
    // 1200 m wide patch: 10 m pixel centres at -595..595, 60 m centres at -570..570.
    expect(xsOf('B02')).toEqual(Array.from({ length: 120 }, (_, i) => -595 + 10 * i));
    expect(xsOf('B01')).toEqual(Array.from({ length: 20 }, (_, i) => -570 + 60 * i));
    expect(atoms.doy).toBe(168);
  });
});

describe('class lists', () => {
  it('43 names, 19 sorted names, 11 labels dropped, first/last of the sorted list', () => {
    expect(BIGEARTHNET_43_CLASSES.length).toBe(43);
    expect(new Set(Object.keys(BIGEARTHNET_43_TO_19))).toEqual(new Set(BIGEARTHNET_43_CLASSES));
    expect(Object.values(BIGEARTHNET_43_TO_19).filter((v) => v === null).length).toBe(11);
    expect(BIGEARTHNET_19_CLASSES.length).toBe(19);
    expect([...BIGEARTHNET_19_CLASSES]).toEqual([...BIGEARTHNET_19_CLASSES].sort());
    expect(BIGEARTHNET_19_CLASSES[0]).toBe('Agro-forestry areas');
    expect(BIGEARTHNET_19_CLASSES[18]).toBe('Urban fabric');
  });

  it('dropped labels give no index; unknown names are an Error naming the file', () => {
    expect(bigEarthNetLabelIndices(['Airports', 'Bare rock'], 19, 'm.json')).toEqual([]);
    expect(bigEarthNetLabelIndices(['Airports'], 43, 'm.json')).toEqual([5]);
    expect(() => bigEarthNetLabelIndices(['Lava'], 19, 'm.json')).toThrow(/m\.json: labels: 'Lava' is not one of the 43/);
  });
});

describe('broken patch folders', () => {
  const copyPatch = async (name: string) => {
    const src = join(ROOT, 's2', S2_PATCH);
    const dst = join(tmp, name, S2_PATCH);
    await mkdir(dst, { recursive: true });
    for (const f of await readdir(src)) await copyFile(join(src, f), join(dst, f));
    return dst;
  };

  it("one band replaced by another patch's band: Error names the file and both bounds", async () => {
    const dst = await copyPatch('swapped');
    const other = 'S2A_MSIL2A_20170617T113321_4_55';
    await copyFile(join(ROOT, 's2', other, `${other}_B03.tif`), join(dst, `${S2_PATCH}_B03.tif`));
    const err = await readBigEarthNetPatch(dst).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/do not cover the same footprint/);
    expect(err?.message).toContain(`${S2_PATCH}_B03.tif has bounds [604800.00, 5832840.00, 606000.00, 5834040.00]`);
    expect(err?.message).toContain('[643200.00, 5796840.00, 644400.00, 5798040.00]');
  });

  it('metadata bounds that disagree with the rasters: Error names the JSON file', async () => {
    const dst = await copyPatch('shifted');
    const file = join(dst, `${S2_PATCH}_labels_metadata.json`);
    const meta = JSON.parse(await readFile(file, 'utf8')) as { coordinates: Record<string, number> };
    meta.coordinates.ulx! += 1200;
    meta.coordinates.lrx! += 1200;
    await writeFile(file, JSON.stringify(meta));
    await expect(readBigEarthNetPatch(dst)).rejects.toThrow(/_labels_metadata\.json: coordinates .* do not match the bounds/);
  });

  it('a missing band file is an Error listing it', async () => {
    const dst = await copyPatch('missing');
    await rm(join(dst, `${S2_PATCH}_B8A.tif`));
    await expect(readBigEarthNetPatch(dst)).rejects.toThrow(new RegExp(`missing band file\\(s\\) ${S2_PATCH}_B8A\\.tif`));
  });
});
