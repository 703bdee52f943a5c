// Which statistics normalise a band (docs/model.md section 1: values are
// z-scored per band). Statistics are computed per exact `<sensor>:<band>` key
// over the train split (band-stats.ts); at normalisation time a band of a
// sensor absent from the train split (a Sentinel-2B patch when only 2A patches
// were in train) borrows the statistics of the same band of the same sensor
// family (types.ts Sensor.family): the same physical band, so the same value
// distribution up to calibration differences far below the spread of a scene.

import { bandStatsKey } from './band-stats.js';
import type { SensorCatalog } from './sensors/index.js';
import type { BandStats } from './types.js';

/** Band statistics by key `<sensor>:<band>`, as a Map or a plain object (e.g. from a manifest). */
export type BandStatsTable = ReadonlyMap<string, BandStats> | Readonly<Record<string, BandStats>>;

function isMap(stats: BandStatsTable): stats is ReadonlyMap<string, BandStats> {
  return stats instanceof Map;
}

function statsAt(stats: BandStatsTable, key: string): BandStats | undefined {
  if (isMap(stats)) return stats.get(key);
  return Object.prototype.hasOwnProperty.call(stats, key) ? stats[key] : undefined;
}

function familyOf(catalog: SensorCatalog, sensor: string): string | undefined {
  return catalog.has(sensor) ? catalog.get(sensor).family : undefined;
}

/**
 * Statistics of several sensors' copies of one band as if computed over all
 * their values: count-weighted mean, population variance = mean of (within
 * variance + squared offset of each mean from the pooled mean).
 */
function pool(members: readonly BandStats[]): BandStats {
  const withData = members.filter((m) => m.count > 0);
  if (withData.length === 0) return members[0] as BandStats;
  const count = withData.reduce((n, m) => n + m.count, 0);
  const mean = withData.reduce((s, m) => s + m.count * m.mean, 0) / count;
  const variance = withData.reduce((s, m) => s + m.count * (m.std * m.std + (m.mean - mean) ** 2), 0) / count;
  return {
    key: withData.map((m) => m.key).join('+'),
    count,
    mean,
    std: Math.sqrt(variance),
    min: Math.min(...withData.map((m) => m.min)),
    max: Math.max(...withData.map((m) => m.max)),
  };
}

/**
 * The statistics that normalise `band`: those of its exact key
 * `<sensor>:<band>`, else those of the same band name of the other sensors of
 * its family (pooled when several have them; the result's key names them, e.g.
 * 'sentinel-2a:B02'). Neither -> an Error naming the band, the sensor, its
 * family and what to do. `where` prefixes the message.
 */
export function bandStatsFor(
  stats: BandStatsTable,
  band: { sensor: string; name: string },
  catalog: SensorCatalog,
  where = 'normalisation',
): BandStats {
  const key = bandStatsKey(band);
  const exact = statsAt(stats, key);
  if (exact !== undefined) return exact;
  const family = familyOf(catalog, band.sensor);
  if (family !== undefined) {
    const members: BandStats[] = [];
    for (const [k, st] of isMap(stats) ? stats.entries() : Object.entries(stats)) {
      // Sensor ids contain no ':' (validate-sensor.ts), so the first ':' ends the sensor.
      const colon = k.indexOf(':');
      const sensor = k.slice(0, colon);
      if (colon > 0 && k.slice(colon + 1) === band.name && sensor !== band.sensor && familyOf(catalog, sensor) === family) members.push(st);
    }
    if (members.length > 0) return pool(members);
  }
  const why =
    family !== undefined
      ? `nor for band ${band.name} of another sensor of its family '${family}'`
      : catalog.has(band.sensor)
        ? `and sensor ${band.sensor} has no family to borrow statistics from`
        : `and sensor ${band.sensor} is not in the catalogue, so it has no family to borrow statistics from (a sensor from a STAC Item or sensor file: add it to the catalogue given to atomize)`;
  throw new Error(
    `${where}: no statistics for band '${key}' (band ${band.name} of sensor ${band.sensor}), ${why}; ` +
      `compute statistics for sensor ${band.sensor} (BandStatsAccumulator over samples of it, e.g. some in the train split) or pass normalize: 'none'`,
  );
}
