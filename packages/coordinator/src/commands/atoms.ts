import { existsSync } from 'node:fs';
import {
  ModalityRegistry,
  SensorCatalog,
  applyModality,
  atomize,
  defaultEncodingConfig,
  level1Note,
  readSampleAt,
  tokenLayout,
  type Sample,
} from '@atomizer/tokenizer';
import { Command } from 'commander';
import { bandsOption, jsonOption, nameList, sensorOption } from './shared-options.js';
import { formatTable } from './table.js';

/** What `atomizer atoms` reports about one image (the --json output). */
export interface AtomsReport {
  source: string;
  id: string;
  modality?: string;
  time?: string;
  /** Set when a Landsat Level-1 MTL converted the bands to physical units: which, at which sun elevation. */
  radiometry?: string;
  labels: number[];
  bands: Array<{
    name: string;
    sensor: string;
    kind: 'spectral' | 'channel';
    wavelengthNm?: number;
    bandwidthNm?: number;
    channelKind?: string;
    gsdM: number;
    width: number;
    height: number;
    /** Atoms of this band (pixels minus missing ones). */
    atoms: number;
    missing: number;
  }>;
  /** Atoms of the sample, missing ones dropped. */
  atoms: number;
  /** Missing atoms (nodata / NaN) that were dropped. */
  missing: number;
  /** Floats per token with the default encoding config. */
  tokenDim: number;
}

/** How to read the image: its sensor and band names when the file does not say, the modality to present it as. */
export interface AtomsReading {
  sensor?: string;
  bands?: string[];
  modality?: string;
}

export async function atomsReport(path: string, opts: AtomsReading): Promise<AtomsReport> {
  if (!existsSync(path)) {
    throw new Error(
      `${path} does not exist; give a BigEarthNet patch folder, a GeoTIFF, a folder of band files, a Landsat MTL (_MTL.txt) or a STAC Item (.json)`,
    );
  }
  const catalog = SensorCatalog.default();
  // Resolve the modality before reading, so a typo fails fast.
  const modality = opts.modality === undefined ? undefined : ModalityRegistry.default().get(opts.modality);
  const read = await readSampleAt(path, {
    ...(opts.sensor !== undefined ? { sensor: opts.sensor } : {}),
    ...(opts.bands !== undefined && opts.bands.length > 0 ? { bands: opts.bands } : {}),
  });
  let sample: Sample = read;
  if (modality !== undefined) sample = applyModality(sample, modality, { mode: 'eval', catalog });
  const { atoms, missing, missingByBand } = atomize(sample, { normalize: 'none' });
  const bandRows = sample.bands.map((b) => {
    const miss = missingByBand[b.name] ?? 0;
    return {
      name: b.name,
      sensor: b.sensor,
      kind: b.kind,
      ...(b.kind === 'spectral' ? { wavelengthNm: b.wavelengthNm, bandwidthNm: b.bandwidthNm } : { channelKind: b.channelKind }),
      gsdM: b.gsdM,
      width: b.width,
      height: b.height,
      atoms: b.width * b.height - miss,
      missing: miss,
    };
  });
  return {
    source: path,
    id: sample.id,
    ...(modality !== undefined ? { modality: modality.name } : {}),
    ...(sample.time !== undefined ? { time: sample.time.iso } : {}),
    ...(read.geo.radiometry !== undefined ? { radiometry: level1Note(read.geo.radiometry) } : {}),
    labels: sample.labels,
    bands: bandRows,
    atoms: atoms.length,
    missing,
    tokenDim: tokenLayout(defaultEncodingConfig()).dim,
  };
}

export function formatAtomsReport(r: AtomsReport): string {
  const rows = r.bands.map((b) => [
    b.name,
    b.sensor,
    b.kind === 'spectral' ? (b.wavelengthNm ?? NaN) : (b.channelKind ?? '-'),
    b.kind === 'spectral' ? (b.bandwidthNm ?? NaN) : '-',
    b.gsdM,
    b.width,
    b.height,
    b.atoms,
  ]);
  const lines = [
    `${r.id}  (${r.source})${r.modality !== undefined ? `  modality ${r.modality}` : ''}`,
    r.time !== undefined ? `acquired ${r.time}` : 'acquisition time unknown',
    ...(r.radiometry !== undefined ? [`note: ${r.radiometry}`] : []),
    '',
    formatTable(['band', 'sensor', 'wavelength nm', 'bandwidth nm', 'GSD m', 'width', 'height', 'atoms'], rows),
    '',
    `atoms: ${r.atoms.toLocaleString('en-US')}` +
      (r.missing > 0 ? ` (${r.missing.toLocaleString('en-US')} missing atoms dropped)` : ' (none missing)'),
    `token dimension: ${r.tokenDim} (default encoding config)`,
  ];
  return lines.join('\n');
}

export function atomsCommand(): Command {
  return new Command('atoms')
    .argument(
      '<path>',
      'a BigEarthNet patch folder, a GeoTIFF, a folder of band files, a Landsat Level-1 MTL (_MTL.txt: its band files in TOA reflectance), or a STAC Item (.json) with local GeoTIFF assets',
    )
    .addOption(sensorOption())
    .addOption(bandsOption())
    .option('--modality <name>', 'present the image as this modality first (e.g. s2-rgbn-10m, s2-all@res0.5)')
    .addOption(jsonOption('print a machine-readable JSON object instead of a table'))
    .addHelpText(
      'after',
      `
Examples:
  $ atomizer atoms ../shared/data/bigearthnet_tiny/s2/S2A_MSIL2A_20170617T113321_36_85
  $ atomizer atoms ../shared/data/landsat7_stars/L7_ETMs.tif --sensor landsat-7 --bands B1,B2,B3,B4,B5,B7
  $ atomizer atoms item.json        # STAC Item: bands and wavelengths from the item, its local GeoTIFF assets
  $ atomizer atoms <patch> --modality s2-all-20m --json`,
    )
    .action(async (path: string, opts: AtomsCliOptions) => {
      const { reading, json } = atomsSettings(opts);
      const report = await atomsReport(path, reading);
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatAtomsReport(report)}\n`);
    });
}

export interface AtomsCliOptions {
  sensor?: string;
  bands?: string;
  modality?: string;
  json?: boolean;
}

/** How atoms reads the image and prints the result, from its options. */
export function atomsSettings(opts: AtomsCliOptions): { reading: AtomsReading; json: boolean } {
  return {
    reading: {
      ...(opts.sensor !== undefined ? { sensor: opts.sensor } : {}),
      ...(opts.bands !== undefined ? { bands: nameList(opts.bands) } : {}),
      ...(opts.modality !== undefined ? { modality: opts.modality } : {}),
    },
    json: opts.json === true,
  };
}
