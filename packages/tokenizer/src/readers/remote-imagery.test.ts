// Imagery read where it lives: a Cloud-Optimized copy of the real Sentinel-2
// scene (sen2.tif re-encoded with the project's COG writer: 32x32 deflate
// tiles, overviews 124x119, 62x60, 31x30) served by a loopback HTTP server with
// range support (@atomizer/protocol range-server.ts, counting the bytes it sends) and by the
// embedded S3 server, read through the same readers as the local file.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedS3, type EmbeddedS3 } from '@atomizer/protocol/embedded';
import { startRangeServer, type RangeServer } from '@atomizer/protocol/range-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dataPath } from '../data-dir.js';
import type { RasterArray } from '../types.js';
import { CogWriter } from '../writers/cog-writer.js';
import { BlockCache } from './block-cache.js';
import { decodeGeoTiffFile } from './geotiff-file.js';
import { chooseOverview } from './geotiff-source.js';
import { openGeoTiffWindows } from './geotiff-window.js';
import { openSceneWindows } from './scene-windows.js';
import { readDataset, readSampleAt } from './dataset.js';
import { resampleBand } from '../resample.js';

const SEN2 = dataPath('rstoolbox-sen2', 'sen2.tif');
const TILE = 32;

let tmp: string;
let cogPath: string;
let cogSize: number;
let http: RangeServer;
let s3: EmbeddedS3;
let caches = 0;
/** A fresh, empty block cache (each test measures its own fetches). */
const freshCache = () => new BlockCache({ dir: join(tmp, `cache-${++caches}`), maxBytes: 64 * 1024 * 1024 });

/** sen2.tif as a tiled COG with overviews, written tile by tile with CogWriter. */
async function writeCog(path: string): Promise<void> {
  const src = await openGeoTiffWindows(SEN2);
  const w = await CogWriter.create({
    path,
    width: src.width,
    height: src.height,
    samplesPerPixel: src.bandCount,
    dtype: src.dtype,
    tileSize: TILE,
    tags: src.tags,
  });
  for (let ty = 0; ty * TILE < src.height; ty++) {
    for (let tx = 0; tx * TILE < src.width; tx++) {
      const cols = Math.min(TILE, src.width - tx * TILE);
      const rows = Math.min(TILE, src.height - ty * TILE);
      const bands = await src.readWindow(tx * TILE, ty * TILE, cols, rows);
      const data = new Float32Array(cols * rows * bands.length);
      bands.forEach((b, s) => b.forEach((v, i) => (data[i * bands.length + s] = v)));
      await w.writeTile(tx, ty, data);
    }
  }
  await w.finish();
  await src.close();
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const bytesOf = (a: RasterArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
function expectSamePixels(got: RasterArray[], want: RasterArray[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((band, i) => {
    expect(band.constructor).toBe(want[i]!.constructor);
    expect(Buffer.compare(bytesOf(band), bytesOf(want[i]!)), `band ${i}`).toBe(0);
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'atomizer-remote-'));
  cogPath = join(tmp, 'sen2-cog.tif');
  await writeCog(cogPath);
  const bytes = new Uint8Array(await readFile(cogPath));
  cogSize = bytes.length;
  http = await startRangeServer();
  http.put('/scenes/sen2-cog.tif', bytes);
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3') });
  await s3.store().put('scenes/sen2-cog.tif', bytes);
  // s3:// locations are opened as the CLI opens them: from the AWS_* environment.
  for (const [k, v] of Object.entries({ ...s3.env, ATOMIZER_OUTAGE_BUDGET: '5', ATOMIZER_CACHE_DIR: join(tmp, 'default-cache') })) {
    vi.stubEnv(k, v);
  }
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await http?.close();
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('GeoTIFF windows over HTTP and S3', () => {
  it('a window read over HTTP and over S3 returns exactly the pixels of the local read', async () => {
    const local = await openGeoTiffWindows(cogPath);
    const overHttp = await openGeoTiffWindows(`${http.url}/scenes/sen2-cog.tif`, { cache: freshCache() });
    const overS3 = await openGeoTiffWindows(`s3://${s3.bucket}/scenes/sen2-cog.tif`, { cache: freshCache() });
    for (const r of [overHttp, overS3]) {
      expect([r.width, r.height, r.bandCount, r.dtype]).toEqual([247, 237, 12, 'float32']);
      expect(r.metadata).toEqual(local.metadata);
      expect(r.geo).toEqual(local.geo);
      expectSamePixels(await r.readWindow(100, 90, 20, 20), await local.readWindow(100, 90, 20, 20));
    }
    // And the COG equals the stripped original it was made from.
    const original = await openGeoTiffWindows(SEN2);
    expectSamePixels(await overS3.readWindow(0, 200, 50, 37), await original.readWindow(0, 200, 50, 37));
    await Promise.all([local, overHttp, overS3, original].map((r) => r.close()));
  });

  it('a small window fetches a small fraction of the file; a second read is served by the cache', async () => {
    const cache = freshCache();
    const url = `${http.url}/scenes/sen2-cog.tif`;
    const before = http.bytesServed();
    const first = await openGeoTiffWindows(url, { cache });
    const window = await first.readWindow(100, 90, 20, 20);
    await first.close();
    const fetched = http.bytesServed() - before;
    console.log(`window 20x20 of a ${cogSize}-byte COG: ${fetched} bytes fetched (${((100 * fetched) / cogSize).toFixed(1)}%)`);
    expect(fetched).toBeGreaterThan(0);
    expect(fetched).toBeLessThan(cogSize * 0.2);

    const again = http.bytesServed();
    const second = await openGeoTiffWindows(url, { cache });
    expectSamePixels(await second.readWindow(100, 90, 20, 20), window);
    await second.close();
    expect(http.bytesServed() - again).toBe(0);
  });

  it("a coarse grid reads the overview closest to, not coarser than, the factor: fewer bytes, the overview's pixels", async () => {
    const url = `${http.url}/scenes/sen2-cog.tif`;
    let before = http.bytesServed();
    const full = await decodeGeoTiffFile(url, { cache: freshCache() });
    const fullBytes = http.bytesServed() - before;
    before = http.bytesServed();
    const coarse = await decodeGeoTiffFile(url, { cache: freshCache(), resolutionFactor: 0.3 });
    const coarseBytes = http.bytesServed() - before;
    console.log(
      `whole scene: ${fullBytes} bytes at full resolution, ${coarseBytes} bytes for factor 0.3 (overview ${coarse.width}x${coarse.height})`,
    );
    // 0.3 of 247 is 74 pixels: the 124-pixel (0.5) overview, not the 62-pixel (0.25) one.
    expect([coarse.width, coarse.height]).toEqual([124, 119]);
    expect(coarse.overview?.index).toBe(1);
    expect(coarseBytes).toBeLessThan(fullBytes * 0.5);
    expect(coarse.geo!.transform.pixelWidth).toBeCloseTo(full.geo!.transform.pixelWidth * (247 / 124), 12);
    expect(coarse.geo!.bbox[0]).toBeCloseTo(full.geo!.bbox[0], 12);
    // The overview is the COG writer's decimation: every other pixel of the full image.
    const b = 3;
    for (const [x, y] of [
      [0, 0],
      [10, 7],
      [123, 118],
    ] as const) {
      expect(coarse.bands[b]![y * 124 + x]).toBe(full.bands[b]![2 * y * 247 + 2 * x]);
    }
    const windows = await openGeoTiffWindows(url, { cache: freshCache(), resolutionFactor: 0.25 });
    expect([windows.width, windows.height, windows.overview?.index]).toEqual([62, 60, 2]);
    expect(windows.tags.modelPixelScale?.[0]).toBeCloseTo(full.geo!.transform.pixelWidth * (247 / 62), 12);
    await windows.close();
  });

  it('chooseOverview: the coarsest image at least as fine as the factor on both axes, within a pixel', () => {
    const images = [
      { index: 0, width: 1000, height: 800 },
      { index: 1, width: 500, height: 400 },
      { index: 2, width: 250, height: 200 },
      { index: 3, width: 125, height: 100 },
    ];
    expect(chooseOverview(images, 1)).toBe(0);
    expect(chooseOverview(images, 0.6)).toBe(0);
    expect(chooseOverview(images, 0.5)).toBe(1);
    expect(chooseOverview(images, 0.3)).toBe(1);
    expect(chooseOverview(images, 0.25)).toBe(2);
    expect(chooseOverview(images, 0.01)).toBe(3);
    // An overview rounded down a pixel (odd sizes) still counts as 1/2.
    expect(
      chooseOverview(
        [
          { index: 0, width: 247, height: 237 },
          { index: 1, width: 123, height: 118 },
        ],
        0.5,
      ),
    ).toBe(1);
  });

  it('a scene opened over S3 for predict-style windows equals the local scene', async () => {
    const local = await openSceneWindows(cogPath, { sensor: 's2a' });
    const remote = await openSceneWindows(`s3://${s3.bucket}/scenes/sen2-cog.tif`, { sensor: 's2a' });
    expect(remote.bandNames).toEqual(local.bandNames);
    const [a, b] = [await remote.readWindow(30, 40, 16, 16), await local.readWindow(30, 40, 16, 16)];
    expectSamePixels(
      a.bands.map((x) => x.values),
      b.bands.map((x) => x.values),
    );
    await Promise.all([local.close(), remote.close()]);
  });
});

describe('commands that take imagery accept URLs', () => {
  it('geotiff:<url> (eval --dataset) and readSampleAt(<s3 url>) (atomizer atoms) read the scene as its local copy', async () => {
    const local = await readSampleAt(cogPath, { sensor: 's2a' });
    const items = [];
    for await (const item of readDataset(`geotiff:${http.url}/scenes/sen2-cog.tif?sensor=s2a`)) items.push(item);
    expect(items).toHaveLength(1);
    const fromS3 = await readSampleAt(`s3://${s3.bucket}/scenes/sen2-cog.tif`, { sensor: 's2a' });
    for (const s of [items[0]!.sample, fromS3]) {
      expect(s.id).toBe('sen2-cog');
      expect(s.bands.map((b) => b.name)).toEqual(local.bands.map((b) => b.name));
      expectSamePixels(
        s.bands.map((b) => b.values),
        local.bands.map((b) => b.values),
      );
    }
  });
});

describe('a dataset or scene read on a coarser grid', () => {
  it('geotiff:<url>?resolution=0.3: the 124x119 overview area-averaged to 74x71, for fewer bytes than the full image', async () => {
    process.env.ATOMIZER_CACHE_MAX_MB = '0'; // count every byte this read needs
    try {
      const before = http.bytesServed();
      const items = [];
      for await (const item of readDataset(`geotiff:${http.url}/scenes/sen2-cog.tif?sensor=s2a&resolution=0.3`)) items.push(item);
      const fetched = http.bytesServed() - before;
      const s = items[0]!.sample;
      expect(s.bands.map((b) => [b.width, b.height])).toEqual(s.bands.map(() => [74, 71]));
      // Independently: the local overview (f = 0.5 is within a pixel of it, so not resampled) area-averaged to 74x71.
      const overview = await readSampleAt(cogPath, { sensor: 's2a', resolutionFactor: 0.5 });
      expect([overview.bands[0]!.width, overview.bands[0]!.height]).toEqual([124, 119]);
      s.bands.forEach((b, i) => expectSamePixels([b.values], [resampleBand(overview.bands[i]!, 74, 71).values]));
      expect(s.bands[0]!.gsdM).toBeCloseTo(overview.bands[0]!.gsdM * (124 / 74), 9);
      expect(fetched).toBeLessThan(cogSize / 2);
    } finally {
      delete process.env.ATOMIZER_CACHE_MAX_MB;
    }
  });

  it("a scene opened by windows with a resolution factor is on the overview's grid", async () => {
    const scene = await openSceneWindows(`${http.url}/scenes/sen2-cog.tif`, { sensor: 's2a', resolutionFactor: 0.25 });
    expect([scene.width, scene.height]).toEqual([62, 60]);
    const local = await decodeGeoTiffFile(cogPath, { resolutionFactor: 0.25 });
    const w = await scene.readWindow(10, 20, 8, 8);
    expect(w.bands[2]!.values[0]).toBe(local.bands[2]![20 * 62 + 10]);
    await scene.close();
  });
});

describe('remote errors are one line naming the URL', () => {
  it('404', async () => {
    const url = `${http.url}/scenes/absent.tif`;
    const err = await openGeoTiffWindows(url, { cache: freshCache() }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`^${url.replace(/[.]/g, '\\.')}: HTTP 404 Not Found; check the URL`));
    expect((err as Error).message).not.toContain('\n');
  });

  it('a missing S3 object', async () => {
    await expect(decodeGeoTiffFile(`s3://${s3.bucket}/scenes/absent.tif`)).rejects.toThrow(
      /^s3:\/\/atomizer\/scenes\/absent\.tif: no such object; check the bucket and the key$/,
    );
  });

  it('an unreachable host', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/scene.tif`;
    const err = await decodeGeoTiffFile(url, { cache: freshCache() }).catch((e: Error) => e);
    expect((err as Error).message).toBe(`${url}: cannot reach the server (ECONNREFUSED); check the host name, the port and the network`);
  });

  it('a server without range support: the whole file read once with one warning, or refused past the size limit', async () => {
    const url = `${http.url}/norange/scenes/sen2-cog.tif`;
    const warnings: string[] = [];
    const before = http.bytesServed();
    const r = await openGeoTiffWindows(url, { cache: freshCache(), warn: (m) => warnings.push(m) });
    const local = await openGeoTiffWindows(cogPath);
    expectSamePixels(await r.readWindow(5, 5, 40, 40), await local.readWindow(5, 5, 40, 40));
    await Promise.all([r.close(), local.close()]);
    expect(warnings).toEqual([
      `${url}: the server ignores HTTP range requests; reading the whole file (${cogSize} bytes) once and keeping it in memory`,
    ]);
    expect(http.bytesServed() - before).toBe(cogSize);
    await expect(openGeoTiffWindows(url, { cache: freshCache(), noRangeMaxBytes: 1000 })).rejects.toThrow(
      new RegExp(`^${url.replace(/[.]/g, '\\.')}: the server ignores HTTP range requests and the file has ${cogSize} bytes .*download it`),
    );
  });

  it('a connection that drops mid-read (retried twice, then named)', async () => {
    const url = `${http.url}/drop/scenes/sen2-cog.tif`;
    const err = await decodeGeoTiffFile(url, { cache: freshCache() }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      new RegExp(`^${url.replace(/[.]/g, '\\.')}: the connection dropped .*bytes at offset 0.*; try again, or check the server$`),
    );
    expect((err as Error).message).not.toContain('\n');
    expect(http.requests.filter((r) => r.path === '/drop/scenes/sen2-cog.tif' && r.method === 'GET')).toHaveLength(3);
  });

  it('credentials in a URL are never printed', async () => {
    const port = await closedPort();
    const err = await decodeGeoTiffFile(`http://user:hunter2@127.0.0.1:${port}/scene.tif?X-Amz-Signature=abc123&x=1`, {
      cache: false,
    }).catch((e: Error) => e);
    expect((err as Error).message).not.toMatch(/hunter2|abc123/);
    expect((err as Error).message).toBe(
      `http://127.0.0.1:${port}/scene.tif?X-Amz-Signature=***&x=1: cannot reach the server (ECONNREFUSED); check the host name, the port and the network`,
    );
  });
});
