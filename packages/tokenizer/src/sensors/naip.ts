import type { Sensor } from '../types.js';
import { spectralBand } from './define-band.js';

// NAIP aerial imagery (USDA). Source: docs/sensors.md. NAIP is flown with several
// cameras over the years: the centres and widths below are APPROXIMATIONS
// (camera-dependent), not one instrument's response. GSD 0.6 m (recent years;
// earlier years 1 m). Bands in file order: red, green, blue, NIR.

const APPROX = 'approximate, camera-dependent';

export const NAIP: Sensor = {
  id: 'naip',
  name: 'NAIP aerial imagery (USDA)',
  aliases: ['usda-naip'],
  bands: [
    spectralBand('red', 640, 60, 0.6, { commonName: 'red', aliases: ['B1', 'R'], description: `red (${APPROX})` }),
    spectralBand('green', 550, 60, 0.6, { commonName: 'green', aliases: ['B2', 'G'], description: `green (${APPROX})` }),
    spectralBand('blue', 470, 60, 0.6, { commonName: 'blue', aliases: ['B3', 'B'], description: `blue (${APPROX})` }),
    spectralBand('nir', 840, 100, 0.6, { commonName: 'nir', aliases: ['B4', 'N'], description: `near infrared (${APPROX})` }),
  ],
  groups: {
    rgb: ['blue', 'green', 'red'],
    visible: ['blue', 'green', 'red'],
    rgbn: ['blue', 'green', 'red', 'nir'],
    all: ['red', 'green', 'blue', 'nir'],
  },
  source: 'USDA NAIP, approximate camera-dependent band centres/widths (via docs/sensors.md)',
};
