// The sensor catalogue: built-in sensors of SENSORS.md, user sensor files and
// STAC Items. Internal helpers (define-band, validate-sensor) stay private.

export { SensorCatalog } from './catalog.js';
export type { BandMatch } from './catalog.js';
export { BUILTIN_SENSORS } from './builtin-sensors.js';
export { validateSensor } from './validate-sensor.js';
