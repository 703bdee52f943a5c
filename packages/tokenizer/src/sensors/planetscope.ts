import type { Sensor } from '../types.js';
import { spectralBand } from './define-band.js';

// PlanetScope SuperDove (PSB.SD), 8-band products. Source: Planet's PlanetScope
// product specification (via docs/sensors.md); centre = middle of the published
// range, width = range width; GSD about 3 m for ortho products. Aliases are Planet's band names (coastal_blue, green_i ...).

export const PLANETSCOPE_SUPERDOVE: Sensor = {
  id: 'planetscope-superdove',
  name: 'PlanetScope SuperDove (8 bands)',
  aliases: ['planetscope', 'superdove', 'psb.sd', 'planetscope-8band', 'ps-superdove'],
  bands: [
    spectralBand('B1', 441.5, 21, 3, {
      commonName: 'coastal',
      aliases: ['coastal_blue', 'coastal'],
      description: 'coastal blue 431-452 nm',
    }),
    spectralBand('B2', 490, 50, 3, { commonName: 'blue', aliases: ['blue'], description: 'blue 465-515 nm' }),
    spectralBand('B3', 531, 36, 3, { aliases: ['green_i'], description: 'green I 513-549 nm' }),
    spectralBand('B4', 565, 36, 3, { commonName: 'green', aliases: ['green_ii', 'green'], description: 'green II 547-583 nm' }),
    spectralBand('B5', 610, 20, 3, { commonName: 'yellow', aliases: ['yellow'], description: 'yellow 600-620 nm' }),
    spectralBand('B6', 665, 30, 3, { commonName: 'red', aliases: ['red'], description: 'red 650-680 nm' }),
    spectralBand('B7', 705, 16, 3, { commonName: 'rededge', aliases: ['rededge'], description: 'red edge 697-713 nm' }),
    spectralBand('B8', 865, 40, 3, { commonName: 'nir', aliases: ['nir'], description: 'NIR 845-885 nm' }),
  ],
  groups: {
    rgb: ['B2', 'B4', 'B6'],
    visible: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6'],
    /** The bands of the classic 4-band PlanetScope products. */
    rgbn: ['B2', 'B4', 'B6', 'B8'],
    all: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8'],
  },
  source: 'Planet PlanetScope product specification, SuperDove 8-band (via docs/sensors.md)',
};
