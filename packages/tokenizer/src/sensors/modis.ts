import type { Sensor } from '../types.js';
import { spectralBand } from './define-band.js';

// MODIS (Terra/Aqua) land bands 1-7. Source: NASA GSFC MODIS specifications
// (via docs/sensors.md): centre = middle of the band range, width = range width.
// Aliases cover the MOD09 product names (sur_refl_b01).

const b = (n: number) => [`${n}`, `B0${n}`, `band${n}`, `sur_refl_b0${n}`];

export const MODIS: Sensor = {
  id: 'modis',
  name: 'MODIS (Terra/Aqua) land bands',
  aliases: ['terra-modis', 'aqua-modis', 'modis-terra', 'modis-aqua', 'terra', 'aqua'],
  bands: [
    spectralBand('B1', 645, 50, 250, { commonName: 'red', aliases: [...b(1), 'red'], description: 'red 620-670 nm' }),
    spectralBand('B2', 858.5, 35, 250, { commonName: 'nir08', aliases: [...b(2), 'nir08', 'nir'], description: 'NIR 841-876 nm' }),
    spectralBand('B3', 469, 20, 500, { commonName: 'blue', aliases: [...b(3), 'blue'], description: 'blue 459-479 nm' }),
    spectralBand('B4', 555, 20, 500, { commonName: 'green', aliases: [...b(4), 'green'], description: 'green 545-565 nm' }),
    spectralBand('B5', 1240, 20, 500, { aliases: b(5), description: 'NIR/SWIR 1230-1250 nm' }),
    spectralBand('B6', 1640, 24, 500, { commonName: 'swir16', aliases: [...b(6), 'swir16'], description: 'SWIR 1628-1652 nm' }),
    spectralBand('B7', 2130, 50, 500, { commonName: 'swir22', aliases: [...b(7), 'swir22'], description: 'SWIR 2105-2155 nm' }),
  ],
  groups: {
    rgb: ['B3', 'B4', 'B1'],
    visible: ['B3', 'B4', 'B1'],
    rgbn: ['B3', 'B4', 'B1', 'B2'],
    nir: ['B2'],
    swir: ['B5', 'B6', 'B7'],
    '250m': ['B1', 'B2'],
    '500m': ['B3', 'B4', 'B5', 'B6', 'B7'],
    all: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7'],
  },
  source: 'NASA GSFC MODIS band specifications, land bands 1-7 (via docs/sensors.md)',
};
