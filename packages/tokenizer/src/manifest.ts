import { sha256Hex } from '@atomizer/protocol';
import { z } from 'zod';
import { EncodingConfigSchema } from './encoding-config.js';
import { ModalityRefSchema } from './modality-lists.js';
import { SPLIT_NAMES } from './split.js';

// manifest.json of a dataset (docs/design.md: datasets/<name>/manifest.json): what the
// coordinator plans rounds from and workers normalise with. Written last by the dataset
// builder, so its presence means every shard it lists is complete.

export const MANIFEST_FORMAT_VERSION = 1;

const count = z.number().int().nonnegative();

/** One shard as the manifest lists it; `sha256` is checked by verifyShard. */
export const ManifestShardSchema = z.object({
  key: z.string().min(1),
  samples: count,
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits'),
  /** Raster values (atoms before missing ones are dropped) in the shard; for bytes/atom figures. */
  values: count.optional(),
});
export type ManifestShard = z.infer<typeof ManifestShardSchema>;

/** Per-band normalisation statistics (types.ts BandStats), over the train split. */
export const BandStatsSchema = z.object({
  key: z.string().min(1),
  count,
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
});

const perSplit = <T extends z.ZodType>(schema: T) => z.object({ train: schema, val: schema, test: schema });

export const ManifestSchema = z
  .object({
    format: z.literal('atomizer-dataset'),
    version: z.literal(MANIFEST_FORMAT_VERSION),
    name: z.string().min(1),
    task: z.enum(['multi', 'single']),
    classes: z.array(z.string().min(1)),
    splits: perSplit(z.object({ samples: count })),
    stats: z.object({
      /** How workers normalise values with `bands`, e.g. 'zscore' ((v - mean) / std). */
      normalisation: z.string().min(1),
      bands: z.array(BandStatsSchema),
    }),
    /** Modality lists (docs/model.md section 5): registry names or inline definitions. */
    modalities: perSplit(z.array(ModalityRefSchema)).optional(),
    shards: perSplit(z.array(ManifestShardSchema)),
    /** Where the data came from, e.g. 'bigearthnet:/data/bigearthnet_tiny/s2 (BigEarthNet v1, 19 classes)'. */
    source: z.string(),
    /** The parsed source it was built from (kind, absolute path, reader options; `datasetSourceKey`): a run with another source refuses these shards. Absent in manifests written before it. */
    sourceSpec: z.string().optional(),
    /** ISO 8601 time the manifest was written. */
    created: z.iso.datetime({ offset: true }),
    encoding: EncodingConfigSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const seenClasses = new Set<string>();
    m.classes.forEach((c, i) => {
      if (seenClasses.has(c)) ctx.addIssue({ code: 'custom', path: ['classes', i], message: `duplicate class name "${c}"` });
      seenClasses.add(c);
    });
    const seenKeys = new Set<string>();
    for (const split of SPLIT_NAMES) {
      const listed = m.shards[split].reduce((a, s) => a + s.samples, 0);
      if (listed !== m.splits[split].samples) {
        ctx.addIssue({
          code: 'custom',
          path: ['splits', split, 'samples'],
          message: `says ${m.splits[split].samples} samples but the ${split} shards hold ${listed}`,
        });
      }
      m.shards[split].forEach((s, i) => {
        if (seenKeys.has(s.key))
          ctx.addIssue({ code: 'custom', path: ['shards', split, i, 'key'], message: `shard ${s.key} is listed twice` });
        seenKeys.add(s.key);
      });
    }
    const seenStats = new Set<string>();
    m.stats.bands.forEach((b, i) => {
      if (seenStats.has(b.key))
        ctx.addIssue({ code: 'custom', path: ['stats', 'bands', i, 'key'], message: `duplicate statistics for ${b.key}` });
      seenStats.add(b.key);
    });
  });

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(root)' : out;
}

/**
 * Validate a manifest (parsed JSON, or its text). `source` names where it came from (key,
 * file) in errors, which name the field: `<source>: manifest field shards.train[2].sha256: ...`.
 */
export function parseManifest(json: unknown, source: string): Manifest {
  let value = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`${source}: manifest is not valid JSON: ${(err as Error).message}`);
    }
  }
  const r = ManifestSchema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 5).map((i) => `manifest field ${formatPath(i.path)}: ${i.message}`);
  const more = r.error.issues.length > 5 ? `; and ${r.error.issues.length - 5} more` : '';
  throw new Error(`${source}: ${issues.join('; ')}${more}`);
}

/** The manifest as stored: validated, pretty-printed JSON. */
export function serializeManifest(m: ManifestInput): string {
  return `${JSON.stringify(parseManifest(m, `manifest ${String((m as { name?: unknown }).name)}`), null, 2)}\n`;
}

/**
 * Check shard bytes against their manifest entry: size first (names truncation), then
 * sha256. Errors name the shard key and both values.
 */
export function verifyShard(bytes: Uint8Array, entry: ManifestShard): void {
  if (bytes.byteLength !== entry.bytes) {
    throw new Error(`shard ${entry.key}: expected ${entry.bytes} bytes (manifest), got ${bytes.byteLength}: truncated or wrong object`);
  }
  const actual = sha256Hex(bytes);
  if (actual !== entry.sha256) {
    throw new Error(`shard ${entry.key}: checksum mismatch: manifest sha256 ${entry.sha256}, shard bytes hash to ${actual}`);
  }
}
