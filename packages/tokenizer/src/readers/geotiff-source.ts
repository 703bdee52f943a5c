// A GeoTIFF opened from a RasterSource (local file, http(s), s3) through
// geotiff.js's GeoTIFF.fromSource, and the image of it to read: the full
// resolution, or an overview when a coarser grid is asked for.
//
// Overview rule: given the wanted resolution factor f (0 < f <= 1, the wanted
// grid's pixel count along each axis over the full grid's: a modality's
// resolutionFactor, 0.5 = pixels twice as large), read the coarsest
// reduced-resolution image that is still at least as fine as f on both axes
// (width >= f * full width and height >= f * full height, to within one
// pixel, since overviews round their size up). That is the overview closest
// to, never coarser than, what is needed; the caller downsamples the rest of
// the way (remaining factor = f / the image's scale). f = 1 or no overviews:
// the full-resolution image. Masks (NewSubfileType bit 4) are never chosen.

import { GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { openRasterSource, type RasterSource, type RasterSourceOptions } from './raster-source.js';
import { displayLocation } from './remote-location.js';

export interface GeoTiffOpenOptions extends RasterSourceOptions {
  /** Wanted grid relative to full resolution (see the rule above). Default 1. */
  resolutionFactor?: number;
}

export interface OpenedGeoTiff {
  source: RasterSource;
  /** The location fit for messages. */
  name: string;
  tiff: GeoTIFF;
  /** Image 0, the full-resolution raster (holds the georeferencing and metadata tags). */
  full: GeoTIFFImage;
  /** The image to read: `full`, or the chosen overview. */
  image: GeoTIFFImage;
  /** IFD index of `image` (0 = full resolution). */
  index: number;
  /** The image's grid over the full grid, per axis (1 for full resolution). */
  scale: { x: number; y: number };
  close(): Promise<void>;
}

const TIFF_MAGIC = new Set(['II*\0', 'MM\0*', 'II+\0', 'MM\0+']);

/** Index of the image to read among `images` (index 0 is full resolution), by the rule above. */
export function chooseOverview(images: ReadonlyArray<{ index: number; width: number; height: number }>, factor: number): number {
  const full = images.find((i) => i.index === 0);
  if (full === undefined || !(factor < 1)) return 0;
  let best = full;
  for (const im of images) {
    const fine = im.width >= factor * full.width - 1 && im.height >= factor * full.height - 1;
    if (fine && im.width < best.width) best = im;
  }
  return best.index;
}

/** The reduced-resolution images of a TIFF (NewSubfileType bit 1, not a mask), with their sizes. */
async function overviewsOf(
  tiff: GeoTIFF,
  full: GeoTIFFImage,
): Promise<Array<{ index: number; width: number; height: number; image: GeoTIFFImage }>> {
  const out = [{ index: 0, width: full.getWidth(), height: full.getHeight(), image: full }];
  const count = await tiff.getImageCount();
  for (let i = 1; i < count; i++) {
    const image = await tiff.getImage(i);
    const subfile = Number(image.getFileDirectory().getValue('NewSubfileType') ?? 0);
    if ((subfile & 1) === 0 || (subfile & 4) !== 0) continue;
    if (image.getSamplesPerPixel() !== full.getSamplesPerPixel()) continue;
    out.push({ index: i, width: image.getWidth(), height: image.getHeight(), image });
  }
  return out;
}

/** Open a GeoTIFF wherever it lives; a missing, unreachable or non-TIFF location is one Error naming it. */
export async function openGeoTiffSource(location: string, opts: GeoTiffOpenOptions = {}): Promise<OpenedGeoTiff> {
  const source = await openRasterSource(location, opts);
  const name = displayLocation(location);
  const fail = async (why: string): Promise<never> => {
    await source.close().catch(() => undefined);
    throw new Error(`${name}: not a valid or complete GeoTIFF (${why})`);
  };
  if (source.size < 8) return fail(`only ${source.size} bytes`);
  const head = await source.read(0, 4).catch(async (err: Error) => {
    await source.close().catch(() => undefined);
    throw err;
  });
  const magic = String.fromCharCode(...head);
  if (!TIFF_MAGIC.has(magic)) return fail('no TIFF header: the file does not start with II*/MM*');
  // geotiff.js asks for slices that may run past the end (the first 1024 bytes
  // of a smaller file): answer them zero-padded, as its own file source does.
  const geotiffSource = {
    fileSize: source.size,
    async fetch(slices: Array<{ offset: number; length: number }>): Promise<ArrayBuffer[]> {
      return Promise.all(
        slices.map(async ({ offset, length }) => {
          const bytes = await source.read(offset, length);
          const out = new Uint8Array(length);
          out.set(bytes.subarray(0, length));
          return out.buffer;
        }),
      );
    },
    close: () => source.close(),
  };
  try {
    const tiff = await GeoTIFF.fromSource(geotiffSource as unknown as Parameters<typeof GeoTIFF.fromSource>[0]);
    const full = await tiff.getImage(0);
    const factor = opts.resolutionFactor ?? 1;
    if (!(factor > 0 && factor <= 1)) return fail(`resolution factor ${factor} is not in (0, 1]`);
    let image = full;
    let index = 0;
    if (factor < 1) {
      const images = await overviewsOf(tiff, full);
      index = chooseOverview(images, factor);
      image = images.find((i) => i.index === index)?.image ?? full;
    }
    return {
      source,
      name,
      tiff,
      full,
      image,
      index,
      scale: { x: image.getWidth() / full.getWidth(), y: image.getHeight() / full.getHeight() },
      close: () => source.close(),
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (msg.startsWith(name)) {
      await source.close().catch(() => undefined);
      throw err;
    }
    return fail(msg);
  }
}
