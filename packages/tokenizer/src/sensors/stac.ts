import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { BandSpec, Sensor } from '../types.js';
import { builtinCatalog } from './builtin-catalog.js';
import type { SensorCatalog } from './catalog.js';
import { umToNm } from './sensor-file.js';
import { validateSensor, zodError } from './validate-sensor.js';

// A sensor from a STAC Item's band metadata, so any STAC catalogue's imagery
// can be tokenized without a catalogue entry. Supported:
//  - STAC 1.0: `eo:bands` on assets and/or item properties (center_wavelength,
//    full_width_half_max in micrometres, common_name, name; asset entries may
//    also be indices into the item-level list, as in STAC 0.9), GSD from
//    `raster:bands[i].spatial_resolution`, asset `gsd` or item `gsd`.
//  - STAC 1.1: `bands` on assets or properties (eo:center_wavelength,
//    eo:full_width_half_max, eo:common_name, raster:spatial_resolution), with
//    fields set directly on a single-band asset applying to its band.
//  - SAR: `sar:polarizations` (band, asset, or item level matched by asset key)
//    makes a channel band `sar-<pol>`; GSD falls back to sar:pixel_spacing_*.
// Assets with no band information (thumbnails, SCL, metadata) are ignored.

const StacAssetSchema = z.looseObject({
  href: z.string({ error: 'expected the asset href (a string)' }),
  type: z.string().optional(),
  roles: z.array(z.string()).optional(),
});

export const StacItemSchema = z.looseObject({
  type: z.literal('Feature', { error: (iss) => `expected "Feature" (a STAC Item), got ${JSON.stringify(iss.input)}` }),
  stac_version: z.string().optional(),
  id: z.string({ error: 'expected the item id (a string)' }),
  properties: z.record(z.string(), z.unknown(), { error: 'expected an object of item properties' }),
  assets: z.record(z.string(), StacAssetSchema, { error: 'expected an object of assets' }),
});

export type StacAsset = z.infer<typeof StacAssetSchema>;
export type StacItem = z.infer<typeof StacItemSchema>;

export interface SensorFromStacOptions {
  /** Sensor id; default `<platform>-<instruments>` from the item properties. */
  id?: string;
  /** Human name; default from platform and instruments. */
  name?: string;
  /** Only these asset keys (default: every asset that carries band metadata). */
  assets?: string[];
  /** GSD in metres for bands whose GSD the item does not give. */
  gsdM?: number;
  /**
   * Sensor family (types.ts Sensor.family). Default: the family of the
   * catalogue sensor that properties.platform names (LANDSAT_8 -> landsat-oli),
   * else the slug of properties.constellation ('sentinel-2').
   */
  family?: string;
  /** Where properties.platform is looked up for the default family; default the built-in catalogue. */
  catalog?: SensorCatalog;
  /** Where the item came from, for error messages (a path or URL). */
  sourceName?: string;
}

/** One STAC asset file and the catalogue names of its bands, in file order (band i of the file is bands[i]). */
export interface StacAssetBands {
  asset: string;
  /** The asset href; relative local hrefs are resolved against the item file when `itemPath` is given. */
  href: string;
  type?: string;
  roles?: string[];
  bands: string[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const firstDefined = <T>(...vs: Array<T | undefined>): T | undefined => vs.find((v) => v !== undefined);

const EO_KEYS = [
  'center_wavelength',
  'full_width_half_max',
  'common_name',
  'eo:center_wavelength',
  'eo:full_width_half_max',
  'eo:common_name',
];

interface RawBand {
  /** Asset key, or undefined for a band listed only at item level. */
  asset?: string;
  /** Position of the band inside its asset file. */
  index: number;
  /** How many bands the asset holds. */
  count: number;
  band: Obj;
  /** True when the band came from an `eo:bands` list (always optical). */
  eoList: boolean;
}

/** Check one STAC Item object (errors name `sourceName`). */
export function parseItem(item: unknown, sourceName: string): StacItem {
  const parsed = StacItemSchema.safeParse(item);
  if (!parsed.success) throw zodError(sourceName, parsed.error);
  return parsed.data;
}

/** The band objects of every asset (and of the item when no asset has any). */
function rawBands(item: StacItem, only: string[] | undefined, where: string): RawBand[] {
  const props = item.properties;
  const itemEo = Array.isArray(props['eo:bands']) ? (props['eo:bands'] as unknown[]) : undefined;
  const itemBands = Array.isArray(props.bands) ? (props.bands as unknown[]) : undefined;
  const itemPols = Array.isArray(props['sar:polarizations'])
    ? (props['sar:polarizations'] as unknown[]).filter((p) => typeof p === 'string')
    : [];
  const byName = new Map<string, Obj>();
  for (const b of [...(itemEo ?? []), ...(itemBands ?? [])]) {
    if (isObj(b) && typeof b.name === 'string') byName.set(b.name, b);
  }
  const out: RawBand[] = [];
  for (const key of only ?? Object.keys(item.assets)) {
    const asset = item.assets[key];
    if (asset === undefined) {
      throw new Error(`${where}: no asset '${key}'; assets: ${Object.keys(item.assets).join(', ')}`);
    }
    const eoList = Array.isArray(asset['eo:bands']) ? (asset['eo:bands'] as unknown[]) : undefined;
    const bandList = Array.isArray(asset.bands) ? (asset.bands as unknown[]) : undefined;
    const list = eoList ?? bandList;
    // Fields a single-band asset (STAC 1.1) or every band of an asset carries at asset level.
    const assetLevel: Obj = {};
    for (const k of ['eo:center_wavelength', 'eo:full_width_half_max', 'eo:common_name', 'sar:polarizations']) {
      if (asset[k] !== undefined) assetLevel[k] = asset[k];
    }
    if (list !== undefined) {
      list.forEach((entry, i) => {
        let band: Obj;
        if (typeof entry === 'number') {
          // STAC 0.9 style: an index into the item-level eo:bands.
          const ref = itemEo?.[entry];
          if (!isObj(ref)) throw new Error(`${where}: asset '${key}' eo:bands[${i}]: index ${entry} is not in the item's eo:bands`);
          band = ref;
        } else if (isObj(entry)) {
          const ref = typeof entry.name === 'string' ? byName.get(entry.name) : undefined;
          band = { ...(ref ?? {}), ...entry };
        } else {
          throw new Error(
            `${where}: asset '${key}' ${eoList !== undefined ? 'eo:bands' : 'bands'}[${i}]: expected an object, got ${JSON.stringify(entry)}`,
          );
        }
        out.push({ asset: key, index: i, count: list.length, band: { ...assetLevel, ...band }, eoList: eoList !== undefined });
      });
    } else if (Object.keys(assetLevel).length > 0) {
      out.push({ asset: key, index: 0, count: 1, band: assetLevel, eoList: false });
    } else {
      const pol = itemPols.find((p) => (p as string).toLowerCase() === key.toLowerCase());
      if (pol !== undefined) out.push({ asset: key, index: 0, count: 1, band: { 'sar:polarizations': [pol] }, eoList: false });
    }
  }
  if (out.length === 0 && only === undefined) {
    const list = itemEo ?? itemBands;
    list?.forEach((b, i) => {
      if (isObj(b)) out.push({ index: i, count: list.length, band: b, eoList: itemEo !== undefined });
    });
  }
  return out;
}

/** The asset key as a band alias, unless it is just the band name again. */
const aliasFor = (name: string, assetKey: string | undefined): string[] =>
  assetKey !== undefined && assetKey.toLowerCase() !== name.toLowerCase() ? [assetKey] : [];

interface Extracted {
  raw: RawBand;
  band: BandSpec;
}

function toBandSpec(r: RawBand, item: StacItem, opts: SensorFromStacOptions, where: string): BandSpec | undefined {
  const b = r.band;
  const asset = r.asset !== undefined ? item.assets[r.asset] : undefined;
  const props = item.properties;
  const label = `${r.asset !== undefined ? `asset '${r.asset}'` : 'item'} band ${typeof b.name === 'string' ? `'${b.name}'` : `#${r.index + 1}`}`;
  const pols = Array.isArray(b['sar:polarizations'])
    ? (b['sar:polarizations'] as unknown[]).filter((p): p is string => typeof p === 'string')
    : [];
  const isSar = pols.length === 1;
  const isOptical = r.eoList || EO_KEYS.some((k) => b[k] !== undefined);
  if (!isSar && !isOptical) return undefined; // e.g. a STAC 1.1 raster-only band (SCL, AOT)

  const rasterBand =
    asset !== undefined && Array.isArray(asset['raster:bands']) ? (asset['raster:bands'] as unknown[])[r.index] : undefined;
  const sarSpacing = [num(props['sar:pixel_spacing_range']), num(props['sar:pixel_spacing_azimuth'])].filter(
    (v): v is number => v !== undefined,
  );
  const gsd = firstDefined(
    num(b.gsd),
    num(b['raster:spatial_resolution']),
    isObj(rasterBand) ? num(rasterBand.spatial_resolution) : undefined,
    num(asset?.gsd),
    num(asset?.['raster:spatial_resolution']),
    num(props.gsd),
    num(props['raster:spatial_resolution']),
    sarSpacing.length > 0 ? Math.max(...sarSpacing) : undefined,
    opts.gsdM,
  );
  if (gsd === undefined) {
    throw new Error(
      `${where}: ${label}: no ground sample distance (gsd, raster:spatial_resolution or raster:bands[].spatial_resolution on the band, asset or item); pass gsdM`,
    );
  }
  const commonName = str(firstDefined(b.common_name, b['eo:common_name']));
  const single = r.asset !== undefined && r.count === 1;
  const assetAlias = single ? r.asset : undefined;

  if (isSar && !isOptical) {
    const pol = (pols[0] as string).toUpperCase();
    const name = str(b.name) ?? pol;
    return { kind: 'channel', channelKind: `sar-${pol.toLowerCase()}`, name, aliases: aliasFor(name, assetAlias), gsdM: gsd };
  }
  const name = str(b.name) ?? (single ? r.asset : undefined) ?? commonName;
  if (name === undefined) throw new Error(`${where}: ${label}: no band name (name or common_name)`);
  const centre = num(firstDefined(b.center_wavelength, b['eo:center_wavelength']));
  const fwhm = num(firstDefined(b.full_width_half_max, b['eo:full_width_half_max']));
  if (centre === undefined) {
    throw new Error(
      `${where}: ${label}: optical band without a centre wavelength (eo:bands center_wavelength or eo:center_wavelength, micrometres)`,
    );
  }
  if (fwhm === undefined) {
    throw new Error(
      `${where}: ${label}: optical band without a width (eo:bands full_width_half_max or eo:full_width_half_max, micrometres)`,
    );
  }
  const description = str(b.description);
  return {
    kind: 'spectral',
    name,
    wavelengthNm: umToNm(centre),
    bandwidthNm: umToNm(fwhm),
    gsdM: gsd,
    aliases: aliasFor(name, assetAlias),
    ...(commonName !== undefined ? { commonName } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

function extract(item: StacItem, opts: SensorFromStacOptions, where: string): Extracted[] {
  const out: Extracted[] = [];
  for (const raw of rawBands(item, opts.assets, where)) {
    const band = toBandSpec(raw, item, opts, where);
    if (band !== undefined) out.push({ raw, band });
  }
  return out;
}

const samePhysics = (a: BandSpec, b: BandSpec): boolean =>
  a.gsdM === b.gsdM &&
  (a.kind === 'spectral' && b.kind === 'spectral'
    ? a.wavelengthNm === b.wavelengthNm && a.bandwidthNm === b.bandwidthNm
    : a.kind === 'channel' && b.kind === 'channel' && a.channelKind === b.channelKind);

const slug = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/[\s:/]+/g, '-');

/**
 * A Sensor from a STAC Item's band metadata (micrometres converted to nm).
 * Its id (`sentinel-2a-msi`, `landsat_8-oli-tirs` ...) is distinct from the
 * built-in sensors' ids and aliases, so it can be added to a default catalogue.
 * The same band listed by several assets (Sentinel-2 `blue` and `visual`, COG
 * and JP2 copies) becomes one band, provided their numbers agree. Asset keys
 * of single-band assets become band aliases ('rededge1' -> B05).
 */
export function sensorFromStacItem(item: unknown, opts: SensorFromStacOptions = {}): Sensor {
  const where = opts.sourceName ?? `STAC item${isObj(item) && typeof item.id === 'string' ? ` ${item.id}` : ''}`;
  const it = parseItem(item, where);
  const extracted = extract(it, opts, where);
  if (extracted.length === 0) {
    throw new Error(
      `${where}: no band metadata (eo:bands, bands with eo:center_wavelength, or sar:polarizations) on any asset${
        opts.assets !== undefined ? ` among ${opts.assets.join(', ')}` : ''
      }`,
    );
  }
  const bands: BandSpec[] = [];
  const from = new Map<string, string>();
  const keyOwner = new Map<string, BandSpec>();
  for (const { raw, band } of extracted) {
    const existing = bands.find((b) => b.name === band.name);
    const origin = raw.asset !== undefined ? `asset '${raw.asset}'` : 'item properties';
    if (existing === undefined) {
      bands.push({ ...band, aliases: [] });
      from.set(band.name, origin);
      keyOwner.set(band.name.toLowerCase(), bands[bands.length - 1] as BandSpec);
    } else if (!samePhysics(existing, band)) {
      throw new Error(
        `${where}: band '${band.name}' of ${origin} disagrees with the same band of ${from.get(band.name) ?? '?'} (wavelength, width, GSD or channel kind)`,
      );
    }
    const target = existing ?? (bands[bands.length - 1] as BandSpec);
    for (const alias of band.aliases) {
      const lower = alias.toLowerCase();
      if (!keyOwner.has(lower)) {
        keyOwner.set(lower, target);
        target.aliases.push(alias);
      }
    }
  }
  // An alias taken from an asset key may not shadow a later band's canonical name.
  for (const b of bands) {
    b.aliases = b.aliases.filter((a) => !bands.some((o) => o !== b && o.name.toLowerCase() === a.toLowerCase()));
  }

  const platform = str(it.properties.platform) ?? str(it.properties.constellation);
  const instruments = Array.isArray(it.properties.instruments)
    ? (it.properties.instruments as unknown[]).filter((x): x is string => typeof x === 'string')
    : [];
  const id = opts.id ?? (platform !== undefined ? slug([platform, ...instruments].join('-')) : undefined);
  if (id === undefined) throw new Error(`${where}: no properties.platform to name the sensor; pass opts.id`);
  const name = opts.name ?? [platform ?? id, instruments.join('/').toUpperCase()].filter((s) => s !== '').join(' ');
  const constellation = str(it.properties.constellation);
  const catalog = opts.catalog ?? builtinCatalog();
  const family =
    opts.family ??
    (platform !== undefined && catalog.has(platform) ? catalog.get(platform).family : undefined) ??
    (constellation !== undefined ? slug(constellation) : undefined);
  return validateSensor(
    {
      id,
      name,
      aliases: [],
      ...(family !== undefined ? { family } : {}),
      bands,
      groups: {},
      source: `STAC Item ${it.id}${opts.sourceName !== undefined ? ` (${opts.sourceName})` : ''}`,
    },
    where,
  );
}

/**
 * Which band(s) each STAC asset file holds, named as in `sensorFromStacItem`
 * (so a reader can open the asset and label its bands). Assets without band
 * metadata are left out. Relative local hrefs are resolved against the item
 * file's folder when `itemPath` is given.
 */
export function stacAssetBands(item: unknown, opts: SensorFromStacOptions & { itemPath?: string } = {}): StacAssetBands[] {
  const where = opts.sourceName ?? opts.itemPath ?? 'STAC item';
  const it = parseItem(item, where);
  const byAsset = new Map<string, string[]>();
  for (const { raw, band } of extract(it, opts, where)) {
    if (raw.asset === undefined) continue;
    const names = byAsset.get(raw.asset) ?? [];
    names[raw.index] = band.name;
    byAsset.set(raw.asset, names);
  }
  const out: StacAssetBands[] = [];
  for (const [key, names] of byAsset) {
    const asset = it.assets[key] as StacAsset;
    let href = asset.href;
    if (opts.itemPath !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(href) && !isAbsolute(href)) {
      href = resolve(dirname(opts.itemPath), href);
    }
    out.push({
      asset: key,
      href,
      ...(asset.type !== undefined ? { type: asset.type } : {}),
      ...(asset.roles !== undefined ? { roles: asset.roles } : {}),
      bands: Array.from(names, (n) => n ?? ''),
    });
  }
  return out;
}

/** Read and check a STAC Item JSON file (errors name the file). */
export async function loadStacItem(path: string): Promise<StacItem> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read STAC item: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  return parseItem(json, path);
}
