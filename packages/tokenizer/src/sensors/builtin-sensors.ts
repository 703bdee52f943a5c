import type { Sensor } from '../types.js';
import { LANDSAT_4_TM, LANDSAT_5_TM, LANDSAT_7, LANDSAT_8, LANDSAT_9, LANDSAT_MSS } from './landsat.js';
import { MODIS } from './modis.js';
import { NAIP } from './naip.js';
import { PLANETSCOPE_SUPERDOVE } from './planetscope.js';
import { SENTINEL_1 } from './sentinel-1.js';
import { SENTINEL_2A, SENTINEL_2B } from './sentinel-2.js';

/** Every sensor of docs/sensors.md, the content of `SensorCatalog.default()`. */
export const BUILTIN_SENSORS: readonly Sensor[] = [
  SENTINEL_2A,
  SENTINEL_2B,
  SENTINEL_1,
  LANDSAT_8,
  LANDSAT_9,
  LANDSAT_7,
  LANDSAT_5_TM,
  LANDSAT_4_TM,
  LANDSAT_MSS,
  MODIS,
  PLANETSCOPE_SUPERDOVE,
  NAIP,
];
