import { SensorCatalog } from './catalog.js';

let builtin: SensorCatalog | undefined;

/**
 * The built-in catalogue, built once and shared by whoever is given no
 * catalogue (readers, modalities, normalisation). Callers only look sensors
 * up, never add to it: a caller with its own sensors builds its own
 * catalogue. Building it per call cost more than decoding a BigEarthNet patch.
 */
export function builtinCatalog(): SensorCatalog {
  builtin ??= SensorCatalog.default();
  return builtin;
}
