import { readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InProcessExecutor, train } from '@atomizer/coordinator';
import { loadCheckpoint } from '@atomizer/model';
import {
  RunStatusSchema,
  Sha256,
  WORKER_KEY_PREFIX,
  runKeys,
  type ObjectStore,
  type RunConfig,
  type RunStatus,
  type WorkerStatus,
} from '@atomizer/protocol';
import { connectRedis } from '@atomizer/protocol/redis';
import { atomizer, sleep, startWorkers, statlogConfig, type Cluster, type Proc, type WorkerProc } from '../harness.js';

// One chaos trial (docs/reliability.md "Chaos suite"): a real run (`atomizer train` and
// `atomizer worker` processes, redis-server, s3rver) with one fault injected while it
// trains; the run must end unattended (or stop with `failed` past the outage budget and
// end on --resume) with a final checkpoint (weights, optimizer state, data cursor)
// bit-identical to an uninterrupted run of the same config.

/** What a fault may use before the run starts (and in cleanup). */
export interface SetupContext {
  cluster: Cluster;
  run: string;
  workers: Map<string, WorkerProc>;
  /** Lines for the trial's report. */
  notes: string[];
  /** A fault's own state between prepare, inject and cleanup (a mount point, a folder). */
  scratch: Map<string, string>;
  startWorker(id: string, extra?: string[]): Promise<WorkerProc>;
}

export interface TrialContext extends SetupContext {
  configFile: string;
  /** The coordinator process now running (a fault that resumes the run replaces it). */
  coordinator: Proc;
  /** Resolves once status.json says round >= r; rejects if the coordinator exits first. */
  untilRound(r: number): Promise<void>;
  status(): Promise<RunStatus | undefined>;
  /** `atomizer train --run <run>` with extra args (`--resume`, `--outage-budget`, ...). */
  startCoordinator(extra: string[]): Proc;
  /** A worker busy on a job of this run, polled for up to `ms`. */
  busyWorker(ms?: number): Promise<WorkerProc | undefined>;
}

export interface Fault {
  name: string;
  /** What the fault does, for reports. */
  description: string;
  /** Why it cannot run on this machine, if it cannot (e.g. a tmpfs mount needs root). */
  unavailable?(): string | undefined;
  /** Extra `atomizer train` arguments of the first coordinator. */
  coordinatorArgs?: string[];
  /** Rounds of the run, when the fault needs a longer one than the default 10. */
  rounds?: number;
  /** Sets the stage before the coordinator starts. */
  prepare?(ctx: SetupContext): Promise<void>;
  /** Injects the fault while the run trains; returns when the fault is over. */
  inject(ctx: TrialContext): Promise<void>;
  /** Puts the cluster back as it was (workers, mounts), whatever happened. */
  cleanup?(ctx: SetupContext): Promise<void>;
}

export interface TrialResult {
  fault: string;
  trial: number;
  completed: boolean;
  identical: boolean;
  seconds: number;
  notes: string[];
}

export const CHAOS_WORKERS = ['chaos-a', 'chaos-b'];
/** Job lock of the chaos workers: a killed worker's job is taken over after about this long. */
const LOCK_SECONDS = '2';
/** Longest a trial may take before it counts as hung. */
const TRIAL_TIMEOUT_MS = 6 * 60_000;

/** The chaos runs' config: the real Statlog data, tiny model, sync rounds of 3 slices (10 unless a fault needs a longer run), checkpoints every 2. */
export function chaosConfig(run: string, rounds = 10): RunConfig {
  // rounds.attempts stays at its default (3): the faults must not need more tries than a real run has.
  return statlogConfig(run, { train: { rounds, slices: 3, sliceSamples: 48 }, checkpoint: { every: 2, keep: 2 }, rounds: { attempts: 3 } });
}

/**
 * What must be bit-identical: the final checkpoint's weights and optimizer state, tensor by
 * tensor, and its data cursor (its metadata also names the run, which differs).
 */
export async function checkpointFingerprint(store: ObjectStore, run: string, round: number): Promise<string> {
  const key = runKeys(run).checkpoint(round, 'state.safetensors');
  const cp = loadCheckpoint(await store.get(key), key);
  const h = new Sha256();
  const enc = new TextEncoder();
  for (const [part, table] of [
    ['weights', cp.weights],
    ['optimizer', cp.optimizerState],
  ] as const) {
    for (const name of Object.keys(table).sort()) {
      const t = table[name]!;
      h.update(enc.encode(`${part}/${name}:${t.dtype}:${t.shape.join('x')};`));
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  h.update(enc.encode(`cursor:${cp.meta.cursor ?? ''}`));
  return h.digest();
}

/** The uninterrupted run of the chaos config (in this process, same backend as the workers). */
export async function referenceFingerprint(cluster: Cluster, rounds: number): Promise<string> {
  const cfg = chaosConfig(`chaos-reference-${randomBytes(3).toString('hex')}`, rounds);
  await train({ store: cluster.store, executor: new InProcessExecutor(cluster.store, 'wasm'), config: cfg });
  return checkpointFingerprint(cluster.store, cfg.run, cfg.train.rounds);
}

async function readStatus(cluster: Cluster, run: string): Promise<RunStatus | undefined> {
  try {
    const bytes = await cluster.store.get(runKeys(run).status);
    return RunStatusSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return undefined; // not written yet, or the store is down (that may be the fault)
  }
}

/** The pids of a process's children (the compute processes of a worker), from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may hold spaces): state, ppid, ...
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms / 1000} s`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Make sure every chaos worker is running (a fault may have killed or replaced one). */
export async function ensureWorkers(cluster: Cluster, workers: Map<string, WorkerProc>): Promise<void> {
  const missing = CHAOS_WORKERS.filter((id) => {
    const w = workers.get(id);
    return w === undefined || w.child.exitCode !== null || w.child.signalCode !== null;
  });
  if (missing.length === 0) return;
  for (const w of await startWorkers(cluster, missing, ['--lock-seconds', LOCK_SECONDS])) workers.set(w.id, w);
}

/** One trial of one fault; the workers map is shared across trials (killed ones are restarted). */
export async function runTrial(
  cluster: Cluster,
  fault: Fault,
  trial: number,
  reference: (rounds: number) => Promise<string>,
  workers: Map<string, WorkerProc>,
): Promise<TrialResult> {
  const t0 = Date.now();
  const run = `chaos-${fault.name}-${trial}-${randomBytes(3).toString('hex')}`;
  const cfg = chaosConfig(run, fault.rounds);
  const configFile = join(cluster.dir, `${run}.json`);
  const { run: _run, ...fileCfg } = cfg;
  await writeFile(configFile, JSON.stringify(fileCfg));
  const notes: string[] = [];
  try {
    await ensureWorkers(cluster, workers);
  } catch (err) {
    // The harness could not bring its workers up (a machine too loaded for Redis to answer
    // in time): a trial that did not run, with the reason, not the end of the suite.
    notes.push(`workers: ${(err as Error).message}`);
    return { fault: fault.name, trial, completed: false, identical: false, seconds: (Date.now() - t0) / 1000, notes };
  }
  const setup: SetupContext = {
    cluster,
    run,
    workers,
    notes,
    scratch: new Map(),
    async startWorker(id, extra = []) {
      const [w] = await startWorkers(cluster, [id], ['--lock-seconds', LOCK_SECONDS, ...extra]);
      workers.set(id, w!);
      return w!;
    },
  };
  const startCoordinator = (extra: string[]): Proc =>
    atomizer(cluster, ['train', '--run', run, '--redis', cluster.redis.url, '--s3', cluster.location, ...extra]);
  try {
    await fault.prepare?.(setup);
  } catch (err) {
    notes.push(`prepare: ${(err as Error).message}`);
    await fault.cleanup?.(setup).catch(() => undefined);
    return { fault: fault.name, trial, completed: false, identical: false, seconds: (Date.now() - t0) / 1000, notes };
  }
  const ctx: TrialContext = {
    ...setup,
    configFile,
    coordinator: startCoordinator(['--config', configFile, ...(fault.coordinatorArgs ?? [])]),
    status: () => readStatus(cluster, run),
    async untilRound(r) {
      const deadline = Date.now() + TRIAL_TIMEOUT_MS;
      for (;;) {
        const st = await readStatus(cluster, run);
        if (st !== undefined && st.round >= r) return;
        const c = ctx.coordinator.child;
        if (c.exitCode !== null || c.signalCode !== null)
          throw new Error(
            `the coordinator exited (${c.exitCode ?? c.signalCode}) before round ${r}:\n${ctx.coordinator.output().slice(-3000)}`,
          );
        if (Date.now() > deadline) throw new Error(`round ${r} not reached within ${TRIAL_TIMEOUT_MS / 1000} s`);
        await sleep(50);
      }
    },
    startCoordinator,
    async busyWorker(ms = 60_000) {
      const redis = connectRedis(cluster.redis.url);
      redis.on('error', () => undefined);
      try {
        const deadline = Date.now() + ms;
        while (Date.now() < deadline) {
          for (const w of workers.values()) {
            const raw = await redis.get(`${WORKER_KEY_PREFIX}${w.id}`).catch(() => null);
            const st = raw === null ? undefined : (JSON.parse(raw) as WorkerStatus);
            if (st?.state === 'busy' && st.job?.includes(run) === true && w.child.exitCode === null) return w;
          }
          await sleep(20);
        }
        return undefined;
      } finally {
        redis.disconnect();
      }
    },
  };
  let completed = false;
  let identical = false;
  try {
    await withTimeout(fault.inject(ctx), TRIAL_TIMEOUT_MS, `fault ${fault.name}`);
    const code = await withTimeout(ctx.coordinator.exited, TRIAL_TIMEOUT_MS, `run ${run}`);
    const st = await readStatus(cluster, run);
    completed = code === 0 && st?.state === 'done' && st.round === cfg.train.rounds;
    if (!completed)
      notes.push(`coordinator exit ${code}, status ${st?.state} at round ${st?.round}: ${ctx.coordinator.output().slice(-2000)}`);
    if (completed) identical = (await checkpointFingerprint(cluster.store, run, cfg.train.rounds)) === (await reference(cfg.train.rounds));
    if (completed && !identical) notes.push('final checkpoint differs from the uninterrupted run');
    // What the coordinator said about the fault (outages, jobs enqueued again, the lease, resumes).
    const said = ctx.coordinator
      .output()
      .split('\n')
      .filter((l) => /connection lost|back after|vanished|lease|resuming after|unreachable/.test(l));
    if (said.length > 0)
      notes.push(
        `coordinator: ${said
          .slice(0, 6)
          .map((l) => l.trim())
          .join(' | ')}`,
      );
  } catch (err) {
    notes.push((err as Error).message);
  } finally {
    await ctx.coordinator.kill('SIGKILL');
    await fault.cleanup?.(setup).catch((err: unknown) => notes.push(`cleanup: ${(err as Error).message}`));
  }
  return { fault: fault.name, trial, completed, identical, seconds: (Date.now() - t0) / 1000, notes };
}
