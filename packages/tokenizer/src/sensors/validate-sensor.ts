import { z } from 'zod';
import type { BandSpec, Sensor } from '../types.js';

// Validation shared by SensorCatalog.add (sensors built in code) and the
// sensor-file / STAC loaders: one place decides what a valid sensor is, and
// every error names where it came from and the field path, e.g.
//   sensors/my.yaml: bands[2].wavelengthNm: expected a positive number, got -5

/** Render a value for an error message (NaN and -5 stay readable, strings quoted). */
export function showValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined || v === null) {
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
}

/** A finite number > 0. z.number() already rejects NaN/Infinity; the message says what was wrong. */
export const positiveNumber = () =>
  z.number({ error: (iss) => `expected a positive number, got ${showValue(iss.input)}` }).refine((v) => Number.isFinite(v) && v > 0, {
    error: (iss) => `expected a positive number, got ${showValue(iss.input)}`,
  });

export const nonEmptyString = () =>
  z
    .string({ error: (iss) => `expected a non-empty string, got ${showValue(iss.input)}` })
    .refine((s) => s.trim().length > 0 && s.trim() === s, {
      error: (iss) => `expected a non-empty string without surrounding spaces, got ${showValue(iss.input)}`,
    });

/**
 * Sensor ids key band statistics as `<sensor>:<band>` (types.ts BandStats),
 * so an id may not contain ':' or whitespace.
 */
export const sensorId = () =>
  nonEmptyString().refine((s) => !/[\s:]/.test(s), {
    error: (iss) => `expected an id without spaces or ':', got ${showValue(iss.input)}`,
  });

const bandCommon = {
  name: nonEmptyString(),
  aliases: z.array(nonEmptyString()),
  commonName: nonEmptyString().optional(),
  gsdM: positiveNumber(),
  description: z.string().optional(),
};

const SpectralBandSchema = z.strictObject({
  kind: z.literal('spectral'),
  wavelengthNm: positiveNumber(),
  bandwidthNm: positiveNumber(),
  ...bandCommon,
});

const ChannelBandSchema = z.strictObject({
  kind: z.literal('channel'),
  channelKind: nonEmptyString(),
  ...bandCommon,
});

/** The in-memory Sensor shape (types.ts) as a schema. */
export const SensorSchema = z.strictObject({
  id: sensorId(),
  name: nonEmptyString(),
  aliases: z.array(sensorId()),
  family: sensorId().optional(),
  bands: z
    .array(
      z.discriminatedUnion('kind', [SpectralBandSchema, ChannelBandSchema], {
        error: (iss) => `expected kind 'spectral' or 'channel', got ${showValue((iss.input as { kind?: unknown } | undefined)?.kind)}`,
      }),
    )
    .min(1, { error: 'expected at least one band' }),
  groups: z.record(nonEmptyString(), z.array(nonEmptyString()).min(1, { error: 'expected at least one band name' })),
  source: z.string(),
});

/** `['bands', 2, 'wavelengthNm']` -> `bands[2].wavelengthNm`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One readable Error from zod issues, each line `<source>: <path>: <message>`. */
export function zodError(sourceName: string, error: z.ZodError): Error {
  const lines = error.issues.map((iss) => `${sourceName}: ${formatPath(iss.path)}: ${iss.message}`);
  return new Error(lines.join('\n'));
}

/**
 * Check a sensor (shape, positive numbers, unique band names and aliases,
 * groups that name existing bands) and return a normalised copy: group members
 * are canonical band names, and every sensor has an `all` group.
 * Errors are prefixed with `sourceName`.
 */
export function validateSensor(input: unknown, sourceName: string): Sensor {
  const parsed = SensorSchema.safeParse(input);
  if (!parsed.success) throw zodError(sourceName, parsed.error);
  const s = parsed.data;
  const fail = (path: string, msg: string): never => {
    throw new Error(`${sourceName}: ${path}: ${msg}`);
  };

  // Names and explicit aliases must each point at exactly one band.
  const byKey = new Map<string, { band: string; index: number }>();
  s.bands.forEach((band, i) => {
    for (const [j, key] of [band.name, ...band.aliases].entries()) {
      const lower = key.toLowerCase();
      const seen = byKey.get(lower);
      if (seen !== undefined && seen.index !== i) {
        fail(
          j === 0 ? `bands[${i}].name` : `bands[${i}].aliases[${j - 1}]`,
          `'${key}' is already a name or alias of band '${seen.band}' (bands[${seen.index}]); band names and aliases must be unique (case-insensitive)`,
        );
      }
      byKey.set(lower, { band: band.name, index: i });
    }
  });
  const commonNames = new Map<string, string[]>();
  for (const band of s.bands) {
    if (band.commonName === undefined) continue;
    const lower = band.commonName.toLowerCase();
    commonNames.set(lower, [...(commonNames.get(lower) ?? []), band.name]);
  }
  const canonical = (member: string): string | undefined => {
    const lower = member.toLowerCase();
    const hit = byKey.get(lower);
    if (hit !== undefined) return hit.band;
    const common = commonNames.get(lower);
    return common !== undefined && common.length === 1 ? common[0] : undefined;
  };

  const groups: Record<string, string[]> = {};
  for (const [group, members] of Object.entries(s.groups)) {
    const hit = byKey.get(group.toLowerCase());
    if (hit !== undefined && hit.band.toLowerCase() === group.toLowerCase()) {
      fail(`groups.${group}`, `a group may not be named like band '${hit.band}'`);
    }
    groups[group] = members.map((m, k) => {
      const name = canonical(m);
      if (name === undefined) {
        return fail(`groups.${group}[${k}]`, `unknown band '${m}'; bands of ${s.id}: ${s.bands.map((b) => b.name).join(', ')}`);
      }
      return name;
    });
  }
  if (!Object.keys(groups).some((g) => g.toLowerCase() === 'all')) groups.all = s.bands.map((b) => b.name);

  const bands: BandSpec[] = s.bands.map((b) => {
    const common = {
      name: b.name,
      aliases: [...b.aliases],
      gsdM: b.gsdM,
      ...(b.commonName !== undefined ? { commonName: b.commonName } : {}),
      ...(b.description !== undefined ? { description: b.description } : {}),
    };
    return b.kind === 'spectral'
      ? { kind: 'spectral', wavelengthNm: b.wavelengthNm, bandwidthNm: b.bandwidthNm, ...common }
      : { kind: 'channel', channelKind: b.channelKind, ...common };
  });
  return {
    id: s.id,
    name: s.name,
    aliases: [...s.aliases],
    ...(s.family !== undefined ? { family: s.family } : {}),
    bands,
    groups,
    source: s.source,
  };
}
