import type { BandSpec, Sensor } from '../types.js';
import { spectralBand } from './define-band.js';

// Sentinel-2 MSI. Source: docs/sensors.md, from the ESA spectral response
// document S2-SRF (COPE-GSEG-EOPG-TN-15-0007): S2A centres and widths; S2B
// centres from the same document, widths taken as S2A's (our source lists only
// S2B centres). Common names follow the STAC eo extension; the aliases
// also cover the Earth Search asset keys (rededge1..3, nir08 ...) and the
// unpadded names (B2) used by GDAL/RStoolbox files such as sen2.tif.

const SOURCE = 'ESA Sentinel-2 spectral response functions S2-SRF, COPE-GSEG-EOPG-TN-15-0007 (via docs/sensors.md); S2B widths as S2A';

interface S2Row {
  name: string;
  gsdM: number;
  widthNm: number;
  commonName?: string;
  aliases: string[];
  description: string;
}

const ROWS: S2Row[] = [
  { name: 'B01', gsdM: 60, widthNm: 21, commonName: 'coastal', aliases: ['B1', 'coastal'], description: 'coastal aerosol' },
  { name: 'B02', gsdM: 10, widthNm: 66, commonName: 'blue', aliases: ['B2', 'blue'], description: 'blue' },
  { name: 'B03', gsdM: 10, widthNm: 36, commonName: 'green', aliases: ['B3', 'green'], description: 'green' },
  { name: 'B04', gsdM: 10, widthNm: 31, commonName: 'red', aliases: ['B4', 'red'], description: 'red' },
  { name: 'B05', gsdM: 20, widthNm: 15, commonName: 'rededge', aliases: ['B5', 'rededge1'], description: 'red edge 1' },
  { name: 'B06', gsdM: 20, widthNm: 15, commonName: 'rededge', aliases: ['B6', 'rededge2'], description: 'red edge 2' },
  { name: 'B07', gsdM: 20, widthNm: 20, commonName: 'rededge', aliases: ['B7', 'rededge3'], description: 'red edge 3' },
  { name: 'B08', gsdM: 10, widthNm: 106, commonName: 'nir', aliases: ['B8', 'nir'], description: 'near infrared' },
  { name: 'B8A', gsdM: 20, widthNm: 21, commonName: 'nir08', aliases: ['B08A', 'nir08'], description: 'narrow near infrared' },
  { name: 'B09', gsdM: 60, widthNm: 20, commonName: 'nir09', aliases: ['B9', 'nir09'], description: 'water vapour' },
  { name: 'B10', gsdM: 60, widthNm: 31, commonName: 'cirrus', aliases: ['cirrus'], description: 'SWIR cirrus' },
  { name: 'B11', gsdM: 20, widthNm: 91, commonName: 'swir16', aliases: ['swir16'], description: 'SWIR 1' },
  { name: 'B12', gsdM: 20, widthNm: 175, commonName: 'swir22', aliases: ['swir22'], description: 'SWIR 2' },
];

/** Centre wavelengths (nm) in ROWS order. */
const S2A_CENTRES = [442.7, 492.4, 559.8, 664.6, 704.1, 740.5, 782.8, 832.8, 864.7, 945.1, 1373.5, 1613.7, 2202.4];
const S2B_CENTRES = [442.2, 492.3, 558.9, 664.9, 703.8, 739.1, 779.7, 832.9, 864.0, 943.2, 1376.9, 1610.4, 2185.7];

function bands(centres: number[]): BandSpec[] {
  return ROWS.map((row, i) => {
    const centre = centres[i];
    if (centre === undefined) throw new Error(`Sentinel-2 table: no centre wavelength for ${row.name}`);
    return spectralBand(row.name, centre, row.widthNm, row.gsdM, {
      aliases: row.aliases,
      ...(row.commonName !== undefined ? { commonName: row.commonName } : {}),
      description: row.description,
    });
  });
}

/**
 * Band groups, in ESA band order. `rededge` is B05-B07 (the STAC `rededge`
 * bands); B8A is `nir08` and belongs to `nir`. `bigearthnet` is the 12 bands
 * of BigEarthNet (no B10); `all` is all 13.
 */
const GROUPS: Record<string, string[]> = {
  rgb: ['B02', 'B03', 'B04'],
  visible: ['B02', 'B03', 'B04'],
  rgbn: ['B02', 'B03', 'B04', 'B08'],
  rededge: ['B05', 'B06', 'B07'],
  nir: ['B08', 'B8A'],
  swir: ['B11', 'B12'],
  '10m': ['B02', 'B03', 'B04', 'B08'],
  '20m': ['B05', 'B06', 'B07', 'B8A', 'B11', 'B12'],
  '60m': ['B01', 'B09', 'B10'],
  bigearthnet: ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B11', 'B12'],
  all: ROWS.map((r) => r.name),
};

export const SENTINEL_2A: Sensor = {
  id: 'sentinel-2a',
  name: 'Sentinel-2A MSI',
  aliases: ['s2a', 'sentinel2a', 'sentinel-2', 'sentinel2', 's2'],
  family: 'sentinel-2',
  bands: bands(S2A_CENTRES),
  groups: GROUPS,
  source: SOURCE,
};

export const SENTINEL_2B: Sensor = {
  id: 'sentinel-2b',
  name: 'Sentinel-2B MSI',
  aliases: ['s2b', 'sentinel2b'],
  family: 'sentinel-2',
  bands: bands(S2B_CENTRES),
  groups: GROUPS,
  source: SOURCE,
};
