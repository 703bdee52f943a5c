import {
  RunStatusSchema,
  StoredRunSchema,
  getIfExists,
  issueLines,
  parseMetricsJsonl,
  runKeys,
  type MetricEvent,
  type ObjectStore,
  type RunKeys,
  type RunStatus,
  type StoredRun,
} from '@atomizer/protocol';
import { z } from 'zod';

// One run's objects in the store, typed (docs/design.md "Object store layout"): the one
// place that knows how a run's config, status, metrics, latest.json and checkpoints are
// read and written. Missing objects are `undefined`; unreadable ones an error naming the
// key and the store.

export const LatestCheckpointSchema = z.object({
  round: z.number().int().nonnegative(),
  key: z.string(),
  sha256: z.string(),
  time: z.string(),
});
export type LatestCheckpoint = z.infer<typeof LatestCheckpointSchema>;

/** A line of config-changes.jsonl: what a resume changed in config.json, after the checkpoint of `round`. */
export const ConfigChangeRecordSchema = z.strictObject({
  time: z.string(),
  /** The round of the checkpoint the resume continued from: the changes apply from round + 1. */
  round: z.number().int().nonnegative(),
  changes: z.array(z.strictObject({ field: z.string(), from: z.unknown(), to: z.unknown() })).min(1),
});
export type ConfigChangeRecord = z.infer<typeof ConfigChangeRecordSchema>;

export class RunStore {
  readonly keys: RunKeys;

  constructor(
    readonly store: ObjectStore,
    readonly run: string,
  ) {
    this.keys = runKeys(run);
  }

  /** The run ids that have a runs/<run>/config.json, sorted. */
  static async runs(store: ObjectStore): Promise<string[]> {
    const runs = new Set<string>();
    for (const k of await store.list('runs/')) {
      const m = /^runs\/([^/]+)\/config\.json$/.exec(k);
      if (m?.[1] !== undefined) runs.add(m[1]);
    }
    return [...runs].sort();
  }

  private where(key: string): string {
    return `${key} in ${this.store.describe()}`;
  }

  private async json<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const bytes = await getIfExists(this.store, key);
    if (bytes === undefined) return undefined;
    let obj: unknown;
    try {
      obj = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new Error(`${this.where(key)}: not JSON (${(err as Error).message})`);
    }
    const r = schema.safeParse(obj);
    if (!r.success) throw new Error(`${this.where(key)}: ${issueLines(schema, r.error.issues).join('; ')}`);
    return r.data;
  }

  private async putJson(key: string, value: unknown): Promise<void> {
    await this.store.put(key, new TextEncoder().encode(JSON.stringify(value)));
  }

  /** runs/<run>/config.json: the run's config and dataset as stored when it started. */
  config(): Promise<StoredRun | undefined> {
    return this.json(this.keys.config, StoredRunSchema);
  }

  /** Rewrite runs/<run>/config.json (a new run, or the changes a resume applies). */
  async writeConfig(stored: StoredRun): Promise<void> {
    await this.store.put(this.keys.config, new TextEncoder().encode(`${JSON.stringify(stored, null, 2)}\n`));
  }

  /** Every record of config-changes.jsonl, oldest first ([] when no resume changed the config). */
  async configChanges(): Promise<ConfigChangeRecord[]> {
    const bytes = await getIfExists(this.store, this.keys.configChanges);
    if (bytes === undefined) return [];
    const lines = new TextDecoder().decode(bytes).split('\n');
    return lines.flatMap((line, i) => {
      if (line.trim() === '') return [];
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new Error(`${this.where(this.keys.configChanges)}: line ${i + 1} is not JSON (${(err as Error).message})`);
      }
      const r = ConfigChangeRecordSchema.safeParse(obj);
      if (!r.success)
        throw new Error(
          `${this.where(this.keys.configChanges)}: line ${i + 1}: ${issueLines(ConfigChangeRecordSchema, r.error.issues).join('; ')}`,
        );
      return [r.data];
    });
  }

  /** Append a record to config-changes.jsonl (the store has no append: read, add the line, write back). */
  async appendConfigChange(record: ConfigChangeRecord): Promise<void> {
    const old = await getIfExists(this.store, this.keys.configChanges);
    const line = new TextEncoder().encode(`${JSON.stringify(ConfigChangeRecordSchema.parse(record))}\n`);
    const out = new Uint8Array((old?.length ?? 0) + line.length);
    if (old !== undefined) out.set(old);
    out.set(line, old?.length ?? 0);
    await this.store.put(this.keys.configChanges, out);
  }

  status(): Promise<RunStatus | undefined> {
    return this.json(this.keys.status, RunStatusSchema);
  }

  writeStatus(status: RunStatus): Promise<void> {
    return this.putJson(this.keys.status, status);
  }

  /** Every event of metrics.jsonl (a bad line is an error naming its number). */
  async metrics(): Promise<MetricEvent[] | undefined> {
    const bytes = await getIfExists(this.store, this.keys.metrics);
    return bytes === undefined ? undefined : parseMetricsJsonl(new TextDecoder().decode(bytes), this.keys.metrics);
  }

  async writeMetrics(events: readonly MetricEvent[]): Promise<void> {
    await this.store.put(this.keys.metrics, new TextEncoder().encode(events.map((e) => JSON.stringify(e)).join('\n') + '\n'));
  }

  /** checkpoints/latest.json; `advice` ends the error when it is unreadable (what the caller's user can do). */
  async latest(advice: string): Promise<LatestCheckpoint | undefined> {
    try {
      return await this.json(this.keys.latestCheckpoint, LatestCheckpointSchema);
    } catch (err) {
      throw new Error(`${this.keys.latestCheckpoint} is unreadable (${(err as Error).message}); ${advice}`);
    }
  }

  writeLatest(latest: LatestCheckpoint): Promise<void> {
    return this.putJson(this.keys.latestCheckpoint, latest);
  }

  /** The rounds that have a checkpoint (state.safetensors), ascending. */
  async checkpointRounds(): Promise<number[]> {
    const rounds = new Set<number>();
    for (const k of await this.store.list(`${this.keys.root}checkpoints/`)) {
      const m = /checkpoints\/(\d+)\/state\.safetensors$/.exec(k);
      if (m !== null) rounds.add(Number(m[1]));
    }
    return [...rounds].sort((a, b) => a - b);
  }

  /** Delete every object under `prefix` (a run folder such as results/<round>/). */
  async deletePrefix(prefix: string): Promise<void> {
    for (const k of await this.store.list(prefix)) await this.store.delete(k);
  }
}

/** The error for a run id that is not in the store: names the store and the runs it holds. */
export async function runNotInStoreError(store: ObjectStore, run: string): Promise<Error> {
  const runs = await RunStore.runs(store);
  return new Error(
    `run '${run}' is not in the store ${store.describe()} (${runKeys(run).config} missing); ` +
      (runs.length > 0 ? `runs there: ${runs.join(', ')}` : 'the store holds no run: check --s3, or train one with atomizer train'),
  );
}
