// The streaming COG writer against geotiff.js (an independent reader): pixels,
// tiles, overviews, georeferencing copied from a real file, nodata, GDAL
// metadata, the COG byte layout (ghost area, IFDs before data, framed tiles)
// and that nothing is left under the final name when a map is not finished.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromArrayBuffer, fromFile } from 'geotiff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../data-dir.js';
import { formatGdalMetadata, parseGdalMetadata } from '../readers/gdal-metadata.js';
import { geoTagsOf } from '../readers/geo-tags.js';
import { CogWriter, type CogWriterOptions } from './cog-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-cogw-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pixel value of a synthetic 2-band map: band 0 = (x + 3y) mod 7, band 1 = x mod 256; nodata 255 on the diagonal. */
const value = (x: number, y: number, s: number): number => (x === y ? 255 : s === 0 ? (x + 3 * y) % 7 : x % 250);

async function writeMap(o: Omit<CogWriterOptions, 'dtype' | 'samplesPerPixel'>): Promise<void> {
  const w = await CogWriter.create({ ...o, dtype: 'uint8', samplesPerPixel: 2 });
  const t = w.tileSize;
  for (let ty = 0; ty < w.tilesDown; ty++) {
    for (let tx = 0; tx < w.tilesAcross; tx++) {
      const cols = Math.min(t, o.width - tx * t);
      const rows = Math.min(t, o.height - ty * t);
      const data = new Uint8Array(cols * rows * 2);
      for (let y = 0; y < rows; y++)
        for (let x = 0; x < cols; x++) for (let s = 0; s < 2; s++) data[(y * cols + x) * 2 + s] = value(tx * t + x, ty * t + y, s);
      await w.writeTile(tx, ty, data);
    }
  }
  await w.finish();
}

describe('CogWriter', () => {
  it('round-trips through geotiff.js: pixels, tiles, overviews down to one tile, georeferencing, nodata, metadata', async () => {
    const src = await (await fromFile(dataPath('rstoolbox-sen2', 'sen2.tif'))).getImage(0);
    // sen2.tif's georeferencing; its GDAL_METADATA (its band names) replaced by the map's own.
    const tags = { ...(await geoTagsOf(src)), gdalNodata: '255' };
    const path = join(dir, 'map.tif');
    const W = 300;
    const H = 170;
    await writeMap({
      path,
      width: W,
      height: H,
      tileSize: 64,
      tags: {
        ...tags,
        gdalMetadata: formatGdalMetadata({ CLASS_0: 'dryout' }, [{ description: 'class' }, { description: 'b', scale: 0.5 }]),
      },
    });
    const tiff = await fromArrayBuffer((await readFile(path)).buffer as ArrayBuffer);
    expect(await tiff.getImageCount()).toBe(4); // 300x170 -> 150x85 -> 75x43 -> 38x22 (fits one 64-pixel tile)
    const full = await tiff.getImage(0);
    expect([full.getWidth(), full.getHeight(), full.getTileWidth(), full.getTileHeight(), full.getSamplesPerPixel()]).toEqual([
      W,
      H,
      64,
      64,
      2,
    ]);
    expect(full.getFileDirectory().getValue('Compression')).toBe(8);
    const px = (await full.readRasters({ interleave: false })) as unknown as Uint8Array[];
    let bad = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let s = 0; s < 2; s++) if (px[s]![y * W + x] !== value(x, y, s)) bad++;
    expect(bad).toBe(0);
    // A window read touches the tiles it needs only and agrees too.
    const win = (await full.readRasters({ window: [100, 60, 140, 90], interleave: false })) as unknown as Uint8Array[];
    expect(win[0]![0]).toBe(value(100, 60, 0));
    const dims = [];
    for (let i = 1; i < 4; i++) {
      const ov = await tiff.getImage(i);
      dims.push([ov.getWidth(), ov.getHeight()]);
      expect(ov.getFileDirectory().getValue('NewSubfileType')).toBe(1);
      expect(ov.getGDALNoData()).toBe(255);
    }
    expect(dims).toEqual([
      [150, 85],
      [75, 43],
      [38, 22],
    ]);
    const ov1 = (await (await tiff.getImage(1)).readRasters({ interleave: false })) as unknown as Uint8Array[];
    expect(ov1[0]![10 * 150 + 7]).toBe(value(14, 20, 0)); // nearest: pixel (2x, 2y)
    // Same CRS and geotransform as sen2.tif (same origin and pixel size: the grid is copied).
    expect(full.getOrigin()).toEqual(src.getOrigin());
    expect(full.getResolution()).toEqual(src.getResolution());
    expect(full.getGeoKeys()).toEqual(src.getGeoKeys());
    expect(full.getGDALNoData()).toBe(255);
    const xml = (await full.getFileDirectory().loadValue('GDAL_METADATA')) as string;
    expect(xml).toContain('<Item name="CLASS_0">dryout</Item>');
    expect(parseGdalMetadata(xml, 2, path)).toEqual([{ description: 'class' }, { description: 'b', scale: 0.5 }]);
  });

  it('lays the file out as a COG: ghost area, every IFD before any tile, tiles framed by size and last 4 bytes', async () => {
    const path = join(dir, 'layout.tif');
    await writeMap({ path, width: 200, height: 90, tileSize: 32, tags: {} });
    const bytes = await readFile(path);
    const text = bytes.subarray(8, 200).toString('latin1');
    expect(text).toMatch(
      /^GDAL_STRUCTURAL_METADATA_SIZE=\d{6} bytes\nLAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\n/,
    );
    const tiff = await fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    const n = await tiff.getImageCount();
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const ifds: number[] = [];
    for (let at = view.getUint32(4, true); at !== 0; at = view.getUint32(at + 2 + 12 * view.getUint16(at, true), true)) ifds.push(at);
    expect(ifds).toHaveLength(n);
    const firstData = Math.min(
      ...(await Promise.all(
        Array.from({ length: n }, async (_, i) =>
          Math.min(...Array.from((await (await tiff.getImage(i)).getFileDirectory().loadValue('TileOffsets')) as ArrayLike<number>)),
        ),
      )),
    );
    expect(Math.max(...ifds)).toBeLessThan(firstData);
    const fd = (await tiff.getImage(0)).getFileDirectory();
    const offsets = Array.from((await fd.loadValue('TileOffsets')) as ArrayLike<number>);
    const counts = Array.from((await fd.loadValue('TileByteCounts')) as ArrayLike<number>);
    for (let i = 0; i < offsets.length; i++) {
      const o = offsets[i]!;
      const c = counts[i]!;
      expect(view.getUint32(o - 4, true)).toBe(c);
      expect(bytes.subarray(o + c, o + c + 4)).toEqual(bytes.subarray(o + c - 4, o + c));
    }
    // Full resolution last: its first tile follows the overviews' data.
    const ovFirst = ((await (await tiff.getImage(1)).getFileDirectory().loadValue('TileOffsets')) as ArrayLike<number>)[0]!;
    expect(ovFirst).toBeLessThan(offsets[0]!);
  });

  it('a map no bigger than one tile has no overview', async () => {
    const path = join(dir, 'small.tif');
    await writeMap({ path, width: 20, height: 30, tileSize: 32, tags: {} });
    const tiff = await fromArrayBuffer((await readFile(path)).buffer as ArrayBuffer);
    expect(await tiff.getImageCount()).toBe(1);
  });

  it('refuses tiles out of order, a wrong tile size, finishing early; an aborted map leaves no file', async () => {
    const path = join(dir, 'bad.tif');
    const w = await CogWriter.create({ path, width: 40, height: 40, tileSize: 32, dtype: 'uint8', samplesPerPixel: 1, tags: {} });
    await expect(w.writeTile(1, 0, new Uint8Array(8 * 32))).rejects.toThrow(/tile \(1, 0\) out of order; tiles go row-major, next is #0/);
    await expect(w.writeTile(0, 0, new Uint8Array(10))).rejects.toThrow(/tile \(0, 0\) has 10 values, expected 32x32x1/);
    await w.writeTile(0, 0, new Uint8Array(32 * 32));
    await expect(w.finish()).rejects.toThrow(/1 of 4 tiles written; the map is incomplete/);
    await w.abort();
    expect((await readdir(dir)).filter((f) => f.startsWith('bad.tif'))).toEqual([]);
    await expect(
      CogWriter.create({ path, width: 40, height: 40, tileSize: 40, dtype: 'uint8', samplesPerPixel: 1, tags: {} }),
    ).rejects.toThrow(/tile size 40: expected a positive multiple of 16/);
    await expect(
      CogWriter.create({ path: '/no/such/dir/m.tif', width: 4, height: 4, dtype: 'uint8', samplesPerPixel: 1, tags: {} }),
    ).rejects.toThrow(/\/no\/such\/dir\/m\.tif: cannot write the output map next to it/);
  });
});
