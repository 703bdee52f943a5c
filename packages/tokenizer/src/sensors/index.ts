// The sensor catalogue: built-in sensors of docs/sensors.md, user sensor files and
// STAC Items. Internal helpers (define-band, validate-sensor internals) stay private.

export { SensorCatalog } from './catalog.js';
export { builtinCatalog } from './builtin-catalog.js';
export type { BandMatch } from './catalog.js';
export { BUILTIN_SENSORS } from './builtin-sensors.js';
export { validateSensor } from './validate-sensor.js';
export { SensorDefinitionSchema, loadSensorFile, parseSensorDefinition, umToNm } from './sensor-file.js';
export type { SensorDefinition } from './sensor-file.js';
export { StacItemSchema, loadStacItem, parseItem as parseStacItem, sensorFromStacItem, stacAssetBands } from './stac.js';
export type { SensorFromStacOptions, StacAsset, StacAssetBands, StacItem } from './stac.js';
