import { resolve } from 'node:path';
import type { DatasetSpec } from './dataset-builder.js';

// The identity of a dataset's source, as recorded in its manifest (`sourceSpec`) and
// compared when a run finds the dataset already in the store: a run whose
// `dataset.source` reads other files or the same files with other options (an offset,
// a patch size, a label file) must not train on shards built from the old one.

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sorted(v)]),
    );
  }
  return value;
}

/** Canonical text of a parsed source: its kind, absolute path and every reader option, keys sorted. */
export function datasetSourceKey(spec: DatasetSpec): string {
  return JSON.stringify(sorted({ ...spec, path: resolve(spec.path) }));
}
