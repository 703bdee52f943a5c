import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { BandSpec, Sensor } from '../types.js';
import { nonEmptyString, positiveNumber, sensorId, showValue, validateSensor, zodError } from './validate-sensor.js';

// A sensor defined in a JSON or YAML file, so users add a sensor without code
// (new sensors are the point of the model, docs/sensors.md). Example:
//
//   id: my-camera
//   name: My multispectral camera
//   aliases: [mycam]
//   family: my-camera-series        # optional: sensors sharing these bands
//   source: vendor datasheet v2
//   groups: { rgb: [blue, green, red] }
//   bands:
//     - { name: B1, commonName: blue, wavelengthNm: 475, bandwidthNm: 32, gsdM: 0.08 }
//     - { name: B2, centerWavelengthUm: 0.56, fwhmUm: 0.027, gsdM: 0.08 }   # STAC units
//     - { name: VV, channelKind: sar-vv, gsdM: 10 }                          # no wavelength

/** Wavelengths in nm below this are almost surely micrometres given in the nm field. */
const MIN_PLAUSIBLE_NM = 100;

const FileBandSchema = z
  .strictObject({
    name: nonEmptyString(),
    aliases: z.array(nonEmptyString()).optional(),
    commonName: nonEmptyString().optional(),
    description: z.string().optional(),
    wavelengthNm: positiveNumber().optional(),
    bandwidthNm: positiveNumber().optional(),
    centerWavelengthUm: positiveNumber().optional(),
    fwhmUm: positiveNumber().optional(),
    channelKind: nonEmptyString().optional(),
    gsdM: positiveNumber(),
  })
  .superRefine((b, ctx) => {
    const nm = b.wavelengthNm !== undefined || b.bandwidthNm !== undefined;
    const um = b.centerWavelengthUm !== undefined || b.fwhmUm !== undefined;
    const channel = b.channelKind !== undefined;
    const forms = [nm, um, channel].filter(Boolean).length;
    if (forms !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          forms === 0
            ? 'expected wavelengthNm + bandwidthNm, centerWavelengthUm + fwhmUm (micrometres, as in STAC), or channelKind (for a band without wavelength, e.g. sar-vv)'
            : 'give only one of wavelengthNm + bandwidthNm, centerWavelengthUm + fwhmUm, or channelKind',
      });
      return;
    }
    const pair = (a: keyof typeof b, c: keyof typeof b, what: string) => {
      for (const [have, missing] of [
        [a, c],
        [c, a],
      ] as const) {
        if (b[have] !== undefined && b[missing] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [missing],
            message: `expected a positive number (${what}) alongside ${have}, got undefined`,
          });
        }
      }
    };
    if (nm) {
      pair('wavelengthNm', 'bandwidthNm', 'the full width in nm');
      if (b.wavelengthNm !== undefined && b.wavelengthNm > 0 && b.wavelengthNm < MIN_PLAUSIBLE_NM) {
        ctx.addIssue({
          code: 'custom',
          path: ['wavelengthNm'],
          message: `expected nanometres, got ${b.wavelengthNm} (micrometres? use centerWavelengthUm and fwhmUm)`,
        });
      }
    }
    if (um) {
      pair('centerWavelengthUm', 'fwhmUm', 'the full width at half maximum in micrometres');
      if (b.centerWavelengthUm !== undefined && b.centerWavelengthUm > 100) {
        ctx.addIssue({
          code: 'custom',
          path: ['centerWavelengthUm'],
          message: `expected micrometres, got ${b.centerWavelengthUm} (nanometres? use wavelengthNm and bandwidthNm)`,
        });
      }
    }
  });

/** The schema of a sensor definition file (JSON or YAML). */
export const SensorDefinitionSchema = z.strictObject({
  id: sensorId(),
  name: nonEmptyString(),
  aliases: z.array(sensorId()).optional(),
  /** Sensors sharing physical bands (see types.ts Sensor.family). */
  family: sensorId().optional(),
  source: z.string().optional(),
  groups: z.record(nonEmptyString(), z.array(nonEmptyString()).min(1, { error: 'expected at least one band name' })).optional(),
  bands: z.array(FileBandSchema).min(1, { error: 'expected at least one band' }),
});

export type SensorDefinition = z.infer<typeof SensorDefinitionSchema>;

/** Micrometres (STAC) to nanometres, without float noise such as 490.00000000000006. */
export function umToNm(um: number): number {
  return Number((um * 1000).toPrecision(12));
}

function toBand(b: SensorDefinition['bands'][number]): BandSpec {
  const common = {
    name: b.name,
    aliases: b.aliases ?? [],
    gsdM: b.gsdM,
    ...(b.commonName !== undefined ? { commonName: b.commonName } : {}),
    ...(b.description !== undefined ? { description: b.description } : {}),
  };
  if (b.channelKind !== undefined) return { kind: 'channel', channelKind: b.channelKind, ...common };
  if (b.wavelengthNm !== undefined && b.bandwidthNm !== undefined) {
    return { kind: 'spectral', wavelengthNm: b.wavelengthNm, bandwidthNm: b.bandwidthNm, ...common };
  }
  if (b.centerWavelengthUm !== undefined && b.fwhmUm !== undefined) {
    return { kind: 'spectral', wavelengthNm: umToNm(b.centerWavelengthUm), bandwidthNm: umToNm(b.fwhmUm), ...common };
  }
  // The schema's refinement guarantees one complete form; reaching here is a bug.
  throw new Error(`band ${b.name}: no wavelength or channel kind`);
}

/**
 * A sensor from a definition: a JSON/YAML text (parsed as JSON when
 * `sourceName` ends in .json, else as YAML, which also reads JSON) or an
 * already-parsed object. Errors name `sourceName` and the field path, e.g.
 * `sensors/my.yaml: bands[2].wavelengthNm: expected a positive number, got -5`.
 */
export function parseSensorDefinition(textOrObject: unknown, sourceName: string): Sensor {
  let raw: unknown = textOrObject;
  if (typeof textOrObject === 'string') {
    try {
      raw = extname(sourceName).toLowerCase() === '.json' ? JSON.parse(textOrObject) : parseYaml(textOrObject);
    } catch (e) {
      const kind = extname(sourceName).toLowerCase() === '.json' ? 'JSON' : 'YAML';
      throw new Error(`${sourceName}: not valid ${kind}: ${(e as Error).message}`);
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${sourceName}: expected a sensor definition object (id, name, bands ...), got ${showValue(raw)}`);
  }
  const parsed = SensorDefinitionSchema.safeParse(raw);
  if (!parsed.success) throw zodError(sourceName, parsed.error);
  const d = parsed.data;
  return validateSensor(
    {
      id: d.id,
      name: d.name,
      aliases: d.aliases ?? [],
      ...(d.family !== undefined ? { family: d.family } : {}),
      bands: d.bands.map(toBand),
      groups: d.groups ?? {},
      source: d.source ?? `sensor file ${sourceName}`,
    },
    sourceName,
  );
}

/** Read a sensor definition file (.json, .yaml or .yml). */
export async function loadSensorFile(path: string): Promise<Sensor> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.yaml' && ext !== '.yml') {
    throw new Error(`${path}: a sensor file must end in .json, .yaml or .yml, got '${ext || '(no extension)'}'`);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read sensor file: ${(e as Error).message}`);
  }
  return parseSensorDefinition(text, path);
}
