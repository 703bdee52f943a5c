import type { Sensor } from '../types.js';
import { spectralBand } from './define-band.js';

// Landsat sensors. Source: docs/sensors.md (USGS band designations; OLI/TIRS
// centre and width from the OLI specification limits; TM/ETM+ from the USGS band
// ranges; MSS as described with the Statlog data set).
// Common names follow the STAC eo extension as used by the Landsat Collection 2
// STAC items (nir08, swir16, swir22, lwir11, lwir12, lwir). Aliases also cover
// Collection 2 Level-2 file suffixes (SR_B4, ST_B10), zero-padded names (B04)
// and, for ETM+, the two thermal gain files B6_VCID_1 / B6_VCID_2. Sensor aliases
// include the MTL SPACECRAFT_ID / USGS STAC platform spelling (LANDSAT_8).
//
// Thermal bands: gsdM is the NATIVE resolution (TIRS 100 m, TM 120 m, ETM+ 60 m);
// USGS delivers them resampled to 30 m pixels, so a reader of those files takes
// the pixel spacing from the file's geotransform.

const USGS = 'USGS Landsat band designations (via docs/sensors.md)';

function oliTirs(id: string, name: string, aliases: string[], mission: string): Sensor {
  const padded = (n: number) => [`B0${n}`, `SR_B${n}`];
  return {
    id,
    name,
    aliases,
    // Landsat 8 and 9 share band designations and specification limits.
    family: 'landsat-oli',
    bands: [
      spectralBand('B1', 443, 20, 30, { commonName: 'coastal', aliases: [...padded(1), 'coastal'], description: 'coastal/aerosol' }),
      spectralBand('B2', 482.5, 65, 30, { commonName: 'blue', aliases: [...padded(2), 'blue'], description: 'blue' }),
      spectralBand('B3', 562.5, 75, 30, { commonName: 'green', aliases: [...padded(3), 'green'], description: 'green' }),
      spectralBand('B4', 655, 50, 30, { commonName: 'red', aliases: [...padded(4), 'red'], description: 'red' }),
      spectralBand('B5', 865, 40, 30, { commonName: 'nir08', aliases: [...padded(5), 'nir08', 'nir'], description: 'near infrared' }),
      spectralBand('B6', 1610, 100, 30, { commonName: 'swir16', aliases: [...padded(6), 'swir16'], description: 'SWIR 1' }),
      spectralBand('B7', 2200, 200, 30, { commonName: 'swir22', aliases: [...padded(7), 'swir22'], description: 'SWIR 2' }),
      spectralBand('B8', 590, 180, 15, { commonName: 'pan', aliases: ['B08', 'pan'], description: 'panchromatic' }),
      spectralBand('B9', 1375, 30, 30, { commonName: 'cirrus', aliases: ['B09', 'cirrus'], description: 'cirrus' }),
      spectralBand('B10', 10895, 590, 100, {
        commonName: 'lwir11',
        aliases: ['ST_B10', 'lwir11'],
        description: 'TIRS 1 (native 100 m, delivered at 30 m)',
      }),
      spectralBand('B11', 12005, 1010, 100, {
        commonName: 'lwir12',
        aliases: ['lwir12'],
        description: 'TIRS 2 (native 100 m, delivered at 30 m)',
      }),
    ],
    groups: {
      rgb: ['B2', 'B3', 'B4'],
      rgbn: ['B2', 'B3', 'B4', 'B5'],
      visible: ['B1', 'B2', 'B3', 'B4'],
      nir: ['B5'],
      swir: ['B6', 'B7'],
      thermal: ['B10', 'B11'],
      /** The surface-reflectance bands of Collection 2 Level-2. */
      reflective: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7'],
      '30m': ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B9'],
      oli: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9'],
      tirs: ['B10', 'B11'],
      all: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11'],
    },
    source: `${USGS}; ${mission} OLI/TIRS centres and widths from the OLI specification limits`,
  };
}

export const LANDSAT_8 = oliTirs('landsat-8', 'Landsat 8 OLI/TIRS', ['landsat8', 'l8', 'LC08', 'LC8', 'LANDSAT_8'], 'Landsat 8');
export const LANDSAT_9 = oliTirs(
  'landsat-9',
  'Landsat 9 OLI-2/TIRS-2',
  ['landsat9', 'l9', 'LC09', 'LC9', 'LANDSAT_9'],
  'Landsat 9 (same band designations as Landsat 8)',
);

/** TM (Landsat 4/5) and ETM+ (Landsat 7) share bands 1-7; ETM+ has a narrower NIR, finer thermal and a pan band. */
function tmLike(opts: { id: string; name: string; aliases: string[]; etm: boolean; family?: string }): Sensor {
  const { etm } = opts;
  const b = (n: number) => [`B0${n}`, `SR_B${n}`];
  const bands = [
    spectralBand('B1', 485, 70, 30, { commonName: 'blue', aliases: [...b(1), 'blue'], description: 'blue 0.45-0.52 um' }),
    spectralBand('B2', 560, 80, 30, { commonName: 'green', aliases: [...b(2), 'green'], description: 'green 0.52-0.60 um' }),
    spectralBand('B3', 660, 60, 30, { commonName: 'red', aliases: [...b(3), 'red'], description: 'red 0.63-0.69 um' }),
    etm
      ? spectralBand('B4', 835, 130, 30, { commonName: 'nir08', aliases: [...b(4), 'nir08', 'nir'], description: 'NIR 0.77-0.90 um' })
      : spectralBand('B4', 830, 140, 30, { commonName: 'nir08', aliases: [...b(4), 'nir08', 'nir'], description: 'NIR 0.76-0.90 um' }),
    spectralBand('B5', 1650, 200, 30, { commonName: 'swir16', aliases: [...b(5), 'swir16'], description: 'SWIR 1 1.55-1.75 um' }),
    spectralBand('B6', 11450, 2100, etm ? 60 : 120, {
      commonName: 'lwir',
      aliases: etm ? ['B06', 'ST_B6', 'lwir', 'B6_VCID_1', 'B6_VCID_2', 'B61', 'B62'] : ['B06', 'ST_B6', 'lwir'],
      description: `thermal 10.40-12.50 um (native ${etm ? 60 : 120} m, delivered at 30 m)${
        etm ? '; B6_VCID_1 / B6_VCID_2 are its low- and high-gain files' : ''
      }`,
    }),
    spectralBand('B7', 2215, 270, 30, { commonName: 'swir22', aliases: [...b(7), 'swir22'], description: 'SWIR 2 2.08-2.35 um' }),
  ];
  if (etm)
    bands.push(spectralBand('B8', 710, 380, 15, { commonName: 'pan', aliases: ['B08', 'pan'], description: 'panchromatic 0.52-0.90 um' }));
  return {
    id: opts.id,
    name: opts.name,
    aliases: opts.aliases,
    ...(opts.family !== undefined ? { family: opts.family } : {}),
    bands,
    groups: {
      rgb: ['B1', 'B2', 'B3'],
      rgbn: ['B1', 'B2', 'B3', 'B4'],
      visible: ['B1', 'B2', 'B3'],
      nir: ['B4'],
      swir: ['B5', 'B7'],
      thermal: ['B6'],
      /** The six reflective multispectral bands (what L7_ETMs.tif holds). */
      reflective: ['B1', 'B2', 'B3', 'B4', 'B5', 'B7'],
      all: bands.map((x) => x.name),
    },
    source: `${USGS}; ${etm ? 'ETM+' : 'TM'} band ranges`,
  };
}

/** Landsat 4 and 5 carry the same TM design (one family); ETM+ (Landsat 7) differs in NIR width and thermal GSD. */
const tm = (n: 4 | 5): Sensor =>
  tmLike({
    id: `landsat-${n}-tm`,
    name: `Landsat ${n} TM`,
    aliases: [`landsat-${n}`, `landsat${n}`, `l${n}`, `LT0${n}`, `LT${n}`, `landsat${n}-tm`, `LANDSAT_${n}`],
    etm: false,
    family: 'landsat-tm',
  });
export const LANDSAT_4_TM = tm(4);
export const LANDSAT_5_TM = tm(5);
export const LANDSAT_7 = tmLike({
  id: 'landsat-7',
  name: 'Landsat 7 ETM+',
  aliases: ['landsat7', 'l7', 'LE07', 'LE7', 'landsat-7-etm', 'etm+', 'LANDSAT_7'],
  etm: true,
});

/**
 * Landsat 1-5 MSS. Canonical names MSS4..MSS7 follow the Landsat 1-3
 * numbering; Landsat 4/5 numbered the same bands 1..4, which is also the
 * order of the 4 values per pixel in the Statlog data set, so B1..B4 and
 * 1..4 are aliases. (B4 therefore means MSS 7, not MSS 4: a Landsat 1-3 file
 * named B4..B7 should use the MSSn names.) GSD: Statlog pixels are about
 * 57 x 79 m; the catalogue says 80 m, an approximation.
 */
export const LANDSAT_MSS: Sensor = {
  id: 'landsat-mss',
  name: 'Landsat 1-5 MSS',
  aliases: ['mss', 'landsat-1-5-mss', 'LM01', 'LM02', 'LM03', 'LM04', 'LM05', 'statlog'],
  bands: [
    spectralBand('MSS4', 550, 100, 80, { commonName: 'green', aliases: ['B1', '1', 'green'], description: 'green 0.5-0.6 um' }),
    spectralBand('MSS5', 650, 100, 80, { commonName: 'red', aliases: ['B2', '2', 'red'], description: 'red 0.6-0.7 um' }),
    spectralBand('MSS6', 750, 100, 80, { commonName: 'nir08', aliases: ['B3', '3', 'nir08'], description: 'NIR 0.7-0.8 um' }),
    spectralBand('MSS7', 950, 300, 80, { commonName: 'nir09', aliases: ['B4', '4', 'nir09'], description: 'NIR 0.8-1.1 um' }),
  ],
  groups: {
    visible: ['MSS4', 'MSS5'],
    nir: ['MSS6', 'MSS7'],
    all: ['MSS4', 'MSS5', 'MSS6', 'MSS7'],
  },
  source: 'Landsat MSS band ranges as documented with the UCI Statlog (Landsat Satellite) data set (via docs/sensors.md)',
};
