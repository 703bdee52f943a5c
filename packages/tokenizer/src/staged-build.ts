import { hostname } from 'node:os';
import {
  datasetKeys,
  getIfExists,
  newBuildId,
  type DatasetBuildKeys,
  type DatasetKeys,
  type ObjectStore,
  processAlive,
} from '@atomizer/protocol';
import { z } from 'zod';

// One sharding attempt, atomic (docs/design.md "Object store layout"): its shards are
// staged under datasets/<name>/builds/<build>/, and the manifest that lists them is
// the single write that publishes them; nothing is copied. A failed attempt removes its
// staging. While it runs, the attempt keeps a heartbeat (attempt.json) so that another
// attempt on the same dataset can tell a live staging from one a crash left behind:
// every attempt sweeps, at its start and after it published, the builds no manifest
// references whose heartbeat stopped or whose process on this host is gone (crashed),
// that failed, or that a newer manifest superseded, and the shards of the layout before builds that the manifest no longer lists.

/** How often a running attempt rewrites its heartbeat. */
export const BUILD_HEARTBEAT_MS = 30_000;
/** A heartbeat older than this means the attempt is gone (crashed, killed). */
export const BUILD_STALE_MS = 5 * 60_000;

const AttemptSchema = z.object({
  format: z.literal('atomizer-build-attempt'),
  build: z.string(),
  state: z.enum(['running', 'failed']),
  host: z.string(),
  pid: z.number(),
  started: z.iso.datetime({ offset: true }),
  updated: z.iso.datetime({ offset: true }),
});
type Attempt = z.infer<typeof AttemptSchema>;

export interface StagedBuildOptions {
  now?: () => Date;
  heartbeatMs?: number;
  staleMs?: number;
  /** One line per swept build or failed cleanup, for people. */
  log?: (message: string) => void;
}

export interface SweepResult {
  /** Builds removed, whole. */
  builds: string[];
  /** Shards of the layout before builds removed. */
  legacyShards: number;
}

function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

async function readAttempt(store: ObjectStore, key: string): Promise<Attempt | undefined> {
  const bytes = await getIfExists(store, key);
  if (bytes === undefined) return undefined;
  try {
    const r = AttemptSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** The shard keys a stored manifest lists, or 'unreadable' (then nothing it might list is removed); undefined when there is none. */
async function listedShards(store: ObjectStore, keys: DatasetKeys): Promise<Set<string> | 'unreadable' | undefined> {
  const bytes = await getIfExists(store, keys.manifest);
  if (bytes === undefined) return undefined;
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as { shards?: Record<string, Array<{ key?: unknown }>> };
    const out = new Set<string>();
    for (const split of Object.values(m.shards ?? {})) for (const s of split) if (typeof s.key === 'string') out.add(s.key);
    return out;
  } catch {
    return 'unreadable';
  }
}

/**
 * Remove what no reader can need: builds other than `keep` that the dataset's manifest does
 * not reference and whose attempt is not alive (no heartbeat, a failed one, or one older than
 * `staleMs`), and shards of the layout before builds the manifest does not list. Heartbeats
 * are read before the manifest, so a build that publishes meanwhile is either still seen
 * alive or already referenced.
 */
export async function sweepBuilds(
  store: ObjectStore,
  name: string,
  opts: StagedBuildOptions & { keep?: string } = {},
): Promise<SweepResult> {
  const keys = datasetKeys(name);
  const now = (opts.now ?? (() => new Date()))().getTime();
  const staleMs = opts.staleMs ?? BUILD_STALE_MS;
  const byBuild = new Map<string, string[]>();
  for (const key of await store.list(keys.buildsPrefix)) {
    const build = keys.buildOf(key);
    if (build === undefined || build === opts.keep) continue;
    const list = byBuild.get(build) ?? [];
    list.push(key);
    byBuild.set(build, list);
  }
  const attempts = new Map<string, Attempt | undefined>();
  for (const build of byBuild.keys()) attempts.set(build, await readAttempt(store, keys.build(build).attempt));
  const listed = await listedShards(store, keys);
  const referenced = new Set<string>();
  if (listed instanceof Set) for (const k of listed) if (keys.buildOf(k) !== undefined) referenced.add(keys.buildOf(k) as string);

  const result: SweepResult = { builds: [], legacyShards: 0 };
  for (const [build, objects] of byBuild) {
    if (referenced.has(build)) continue;
    const attempt = attempts.get(build);
    // An attempt of this host whose process is gone crashed (Ctrl-C, kill -9), however fresh its heartbeat.
    const gone = attempt !== undefined && attempt.host === hostname() && attempt.pid !== process.pid && !processAlive(attempt.pid);
    const alive = attempt !== undefined && attempt.state === 'running' && now - Date.parse(attempt.updated) <= staleMs && !gone;
    if (alive) continue;
    // Without a readable manifest, only what surely never published goes: attempts that failed or stopped.
    if (listed === 'unreadable' && attempt === undefined) continue;
    const marker = keys.build(build).attempt;
    for (const key of objects) if (key !== marker) await store.delete(key);
    await store.delete(marker);
    result.builds.push(build);
    opts.log?.(
      `removed ${objects.length} objects of ${attempt === undefined ? 'superseded' : attempt.state === 'failed' ? 'failed' : 'crashed'} sharding attempt ${keys.build(build).root}` +
        (attempt !== undefined ? ` (${attempt.host} pid ${attempt.pid}, last seen ${attempt.updated})` : ''),
    );
  }
  if (listed !== 'unreadable') {
    for (const split of ['train', 'val', 'test']) {
      for (const key of await store.list(keys.shardsPrefix(split))) {
        if (listed?.has(key) === true) continue;
        await store.delete(key);
        result.legacyShards++;
      }
    }
    if (result.legacyShards > 0)
      opts.log?.(`removed ${result.legacyShards} shards under ${keys.root}shards/ that the manifest no longer lists`);
  }
  return result;
}

/** A sharding attempt: stage shards with `shard()`, then `publish()` the manifest, or `abort()`. */
export class StagedBuild {
  readonly keys: DatasetBuildKeys;
  private readonly dataset: DatasetKeys;
  private readonly now: () => Date;
  private readonly started: string;
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> = Promise.resolve();
  private done = false;

  private constructor(
    private readonly store: ObjectStore,
    readonly name: string,
    private readonly opts: StagedBuildOptions,
  ) {
    this.dataset = datasetKeys(name);
    this.now = opts.now ?? (() => new Date());
    this.started = this.now().toISOString();
    this.keys = this.dataset.build(newBuildId(this.now()));
  }

  /** Begin an attempt: its heartbeat first (so concurrent attempts see it alive), then sweep what crashed attempts left. */
  static async start(store: ObjectStore, name: string, opts: StagedBuildOptions = {}): Promise<StagedBuild> {
    const b = new StagedBuild(store, name, opts);
    await b.heartbeat('running');
    b.timer = setInterval(() => {
      b.beat = b.beat.then(() => (b.done ? undefined : b.heartbeat('running'))).catch(() => undefined);
    }, opts.heartbeatMs ?? BUILD_HEARTBEAT_MS);
    b.timer.unref();
    try {
      await sweepBuilds(store, name, { ...opts, keep: b.keys.build });
    } catch (err) {
      opts.log?.(`could not sweep old sharding attempts of ${name}: ${(err as Error).message}`);
    }
    return b;
  }

  /** Where shard `id` of `split` is staged. */
  shard(split: string, id: number): string {
    return this.keys.shard(split, id);
  }

  private async heartbeat(state: Attempt['state']): Promise<void> {
    const attempt: Attempt = {
      format: 'atomizer-build-attempt',
      build: this.keys.build,
      state,
      host: hostname(),
      pid: process.pid,
      started: this.started,
      updated: this.now().toISOString(),
    };
    await this.store.put(this.keys.attempt, encodeJson(attempt), { contentType: 'application/json' });
  }

  /** Stop the heartbeat and wait for a put in flight (so it cannot bring the marker back after it is removed). */
  private async stopHeartbeat(): Promise<void> {
    this.done = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.beat;
  }

  /**
   * Publish: check every shard the manifest lists is staged (a sweep by another attempt must
   * not turn into a manifest with missing shards), write the manifest (the one publishing
   * write), remove the heartbeat, then sweep the builds this one superseded.
   */
  async publish(manifestKey: string, manifest: Uint8Array, shardKeys: readonly string[]): Promise<void> {
    if (this.done) throw new Error(`sharding attempt ${this.keys.root} already finished`);
    const staged = new Set(await this.store.list(this.keys.root));
    const missing = shardKeys.filter((k) => !staged.has(k));
    if (missing.length > 0) {
      throw new Error(
        `${missing.length} staged shards of ${this.keys.root} disappeared before publishing (first: ${missing[0]}); was its heartbeat blocked for ${Math.round((this.opts.staleMs ?? BUILD_STALE_MS) / 1000)} s while another sharding of ${this.name} ran? Nothing was published: shard again`,
      );
    }
    await this.store.put(manifestKey, manifest, { contentType: 'application/json' });
    await this.stopHeartbeat();
    try {
      await this.store.delete(this.keys.attempt);
      await sweepBuilds(this.store, this.name, { ...this.opts, keep: this.keys.build });
    } catch (err) {
      // Published all the same; the next sharding of the dataset sweeps again.
      this.opts.log?.(`published ${manifestKey}, but could not remove superseded shards: ${(err as Error).message}`);
    }
  }

  /** Remove the staging after a failure: marked failed first (a sweep may finish the job), shards, then the marker. */
  async abort(): Promise<void> {
    if (this.done) return;
    await this.stopHeartbeat();
    try {
      await this.heartbeat('failed');
      for (const key of await this.store.list(this.keys.root)) if (key !== this.keys.attempt) await this.store.delete(key);
      await this.store.delete(this.keys.attempt);
    } catch (err) {
      this.opts.log?.(
        `could not remove the staged shards under ${this.keys.root} (${(err as Error).message}); the next sharding of ${this.name} removes them`,
      );
    }
  }
}
