import type { BandSpec, Sensor } from '../types.js';
import { BUILTIN_SENSORS } from './builtin-sensors.js';
import { validateSensor } from './validate-sensor.js';

/** A sensor with its lookup tables (all keys lower-case: lookups are case-insensitive). */
interface Indexed {
  sensor: Sensor;
  /** Band names and explicit aliases: unique within the sensor. */
  byKey: Map<string, BandSpec>;
  /** STAC common names: several bands may share one ('rededge' on Sentinel-2). */
  byCommon: Map<string, BandSpec[]>;
  groups: Map<string, BandSpec[]>;
}

/** A band a catalogue search found, with the sensor it belongs to. */
export interface BandMatch {
  sensor: Sensor;
  band: BandSpec;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function index(sensor: Sensor): Indexed {
  const byKey = new Map<string, BandSpec>();
  const byCommon = new Map<string, BandSpec[]>();
  for (const band of sensor.bands) {
    for (const key of [band.name, ...band.aliases]) byKey.set(key.toLowerCase(), band);
    if (band.commonName !== undefined) {
      const k = band.commonName.toLowerCase();
      byCommon.set(k, [...(byCommon.get(k) ?? []), band]);
    }
  }
  const groups = new Map<string, BandSpec[]>();
  for (const [name, members] of Object.entries(sensor.groups)) {
    groups.set(
      name.toLowerCase(),
      members.map((m) => {
        const band = byKey.get(m.toLowerCase());
        // validateSensor has already made every member a canonical band name.
        if (band === undefined) throw new Error(`sensor ${sensor.id}: group '${name}' names unknown band '${m}'`);
        return band;
      }),
    );
  }
  return { sensor, byKey, byCommon, groups };
}

/** Bands of an indexed sensor that a name or alias resolves to: 1 band, several (ambiguous common name) or none. */
function lookup(ix: Indexed, name: string): BandSpec[] {
  const lower = name.toLowerCase();
  const exact = ix.byKey.get(lower);
  if (exact !== undefined) return [exact];
  return ix.byCommon.get(lower) ?? [];
}

/**
 * The sensors the tokenizer knows: band wavelengths, widths, GSDs and the
 * names users and files give them. Sensor ids, aliases, band names, aliases,
 * STAC common names and group names are all case-insensitive. Sensors are
 * frozen once added, so a catalogue can be shared safely.
 */
export class SensorCatalog {
  private readonly byId = new Map<string, Indexed>();
  /** Lower-case id or alias -> sensor. */
  private readonly byKey = new Map<string, Indexed>();

  constructor(sensors: Iterable<Sensor> = []) {
    for (const s of sensors) this.add(s);
  }

  /** A new catalogue holding the built-in sensors of docs/sensors.md (add() on it does not affect others). */
  static default(): SensorCatalog {
    return new SensorCatalog(BUILTIN_SENSORS);
  }

  /**
   * Validate and add a sensor (from code, a sensor file or a STAC Item).
   * Throws when its id or an alias is already taken, naming both sensors.
   * Returns the stored (normalised, frozen) sensor.
   */
  add(sensor: Sensor, sourceName?: string): Sensor {
    const idForMessage = typeof (sensor as { id?: unknown }).id === 'string' ? `sensor '${(sensor as { id: string }).id}'` : 'sensor';
    const checked = validateSensor(sensor, sourceName ?? idForMessage);
    const keys = [checked.id, ...checked.aliases];
    const own = new Set<string>();
    for (const key of keys) {
      const lower = key.toLowerCase();
      const taken = this.byKey.get(lower);
      if (taken !== undefined) {
        throw new Error(
          `cannot add sensor '${checked.id}'${sourceName !== undefined ? ` (${sourceName})` : ''}: ` +
            `${key === checked.id ? 'id' : 'alias'} '${key}' is already used by sensor '${taken.sensor.id}'`,
        );
      }
      if (own.has(lower)) {
        throw new Error(`cannot add sensor '${checked.id}': '${key}' is listed twice among its id and aliases`);
      }
      own.add(lower);
    }
    const ix = index(deepFreeze(checked));
    this.byId.set(checked.id, ix);
    for (const key of own) this.byKey.set(key, ix);
    return ix.sensor;
  }

  has(idOrAlias: string): boolean {
    return this.byKey.has(idOrAlias.toLowerCase());
  }

  /** The sensor with this id or alias; unknown -> Error listing the known ids. */
  get(idOrAlias: string): Sensor {
    return this.indexed(idOrAlias).sensor;
  }

  /** Every sensor, in the order they were added. */
  list(): Sensor[] {
    return [...this.byId.values()].map((ix) => ix.sensor);
  }

  /**
   * A band of a sensor by name, alias or STAC common name. Unknown band ->
   * Error naming the band and the sensor and listing the sensor's bands; a
   * common name shared by several bands (Sentinel-2 'rededge') -> Error listing them.
   * A Sensor object that is not in the catalogue (e.g. from a STAC Item) is accepted too.
   */
  resolveBand(sensor: string | Sensor, band: string): BandSpec {
    const ix = this.indexOf(sensor);
    const hits = lookup(ix, band);
    const [first] = hits;
    if (first !== undefined && hits.length === 1) return first;
    if (hits.length > 1) {
      throw new Error(
        `band '${band}' is ambiguous for sensor ${ix.sensor.id}: it is the common name of ${hits
          .map((b) => b.name)
          .join(', ')}; use one of those names${ix.groups.has(band.toLowerCase()) ? ` or the group '${band}'` : ''}`,
      );
    }
    throw new Error(this.unknownBandMessage(ix, band));
  }

  /**
   * Expand a modality band list: each entry is a group name of the sensor
   * ('rgb', 'swir', '10m' ...) or a band name/alias. Groups win over band
   * aliases of the same spelling (Sentinel-2 'nir' is B08 and B8A). Order is
   * kept, duplicates dropped. Unknown entry -> Error naming it, the sensor, its
   * groups and its bands.
   */
  resolveGroup(sensor: string | Sensor, groupOrBandNames: readonly string[]): BandSpec[] {
    const ix = this.indexOf(sensor);
    if (groupOrBandNames.length === 0) {
      throw new Error(
        `no bands requested for sensor ${ix.sensor.id}: give group names (${Object.keys(ix.sensor.groups).join(', ')}) or band names`,
      );
    }
    const out: BandSpec[] = [];
    const seen = new Set<BandSpec>();
    for (const name of groupOrBandNames) {
      const group = ix.groups.get(name.toLowerCase());
      let bands: BandSpec[];
      if (group !== undefined) bands = group;
      else {
        const hits = lookup(ix, name);
        if (hits.length === 0) {
          throw new Error(
            `${this.unknownBandMessage(ix, name)}; its groups: ${Object.keys(ix.sensor.groups).join(', ')}`.replace(
              /^unknown band/,
              'unknown band or group',
            ),
          );
        }
        // A shared common name ('rededge' without a group of that name) means all the bands that carry it.
        bands = hits;
      }
      for (const b of bands) {
        if (!seen.has(b)) {
          seen.add(b);
          out.push(b);
        }
      }
    }
    return out;
  }

  /** Every (sensor, band) whose band name, alias or common name is `name` (case-insensitive). */
  findBand(name: string): BandMatch[] {
    const out: BandMatch[] = [];
    for (const ix of this.byId.values()) {
      for (const band of lookup(ix, name)) out.push({ sensor: ix.sensor, band });
    }
    return out;
  }

  private indexed(idOrAlias: string): Indexed {
    const ix = this.byKey.get(idOrAlias.toLowerCase());
    if (ix === undefined) {
      throw new Error(
        `unknown sensor '${idOrAlias}'; known sensors: ${[...this.byId.keys()].join(', ')} (aliases accepted, case-insensitive)`,
      );
    }
    return ix;
  }

  private indexOf(sensor: string | Sensor): Indexed {
    if (typeof sensor === 'string') return this.indexed(sensor);
    const known = this.byId.get(sensor.id);
    if (known !== undefined && known.sensor === sensor) return known;
    return index(validateSensor(sensor, `sensor '${sensor.id}'`));
  }

  private unknownBandMessage(ix: Indexed, band: string): string {
    const elsewhere = this.findBand(band)
      .map((m) => m.sensor.id)
      .filter((id, i, all) => id !== ix.sensor.id && all.indexOf(id) === i);
    return (
      `unknown band '${band}' for sensor ${ix.sensor.id} (${ix.sensor.name}); its bands: ${ix.sensor.bands.map((b) => b.name).join(', ')}` +
      (elsewhere.length > 0 ? ` ('${band}' is a band of ${elsewhere.join(', ')})` : '')
    );
  }
}
