import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { JobReply } from '@atomizer/protocol';
import type { ComputeMode } from './stub-compute.js';

// The parent side of the compute process: fork it, initialise it (backend,
// store), send it one job at a time, relay its progress, and report its death
// as a failed job (BullMQ then retries the job elsewhere).

export type ParentMessage =
  | {
      type: 'init';
      store: string;
      backend: string;
      compute?: ComputeMode;
      worker: string;
      cacheDir?: string;
      cacheBytes?: number;
      openblasThreads?: number;
    }
  | { type: 'job'; id: string; data: unknown };

export type ChildMessage =
  | { type: 'hello'; pid: number }
  | { type: 'ready'; backend: string; detail: string }
  | { type: 'init-failed'; message: string }
  | { type: 'progress'; id: string; stage: string; detail?: Record<string, unknown> }
  | { type: 'done'; id: string; reply: JobReply }
  | { type: 'failed'; id: string; message: string; permanent: boolean };

export class JobFailure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

const CHILD = fileURLToPath(new URL(`./compute-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** The V8 flag that keeps the garbage collector on the compute process's own thread. */
export const SINGLE_THREADED_GC = '--single-threaded-gc';

/**
 * The compute process's Node flags: its parent's, and on a process that may run on one core
 * only V8's garbage collector on the main thread. There the collector's helper threads
 * (parallel scavenges, concurrent marking) cannot run beside the compute, only take turns
 * with it, and the marking they leave is finished at the compute's first await, inside the
 * result's upload (docs/benchmarks.md). One core is what `availableParallelism()` says: the
 * CPU affinity (a pinned worker, a container given one CPU by cpuset; on Node 20 not a CPU
 * quota). A GC threading flag the operator gave (`--single-threaded`, `--no-single-threaded-gc`)
 * is left as it is.
 */
export function computeExecArgv(parent: readonly string[], cores: number = availableParallelism()): string[] {
  const given = parent.some((a) => /^--(no-)?single[-_]threaded([-_]gc)?(=|$)/.test(a));
  return cores === 1 && !given ? [...parent, SINGLE_THREADED_GC] : [...parent];
}

export interface ComputeProcessOptions {
  store: string;
  backend: string;
  /** 'stub': no model, pseudo-gradients (scale simulations). */
  compute?: ComputeMode;
  worker: string;
  cacheDir?: string;
  cacheBytes?: number;
  openblasThreads?: number;
  env?: NodeJS.ProcessEnv;
}

export class ComputeProcess {
  private child: ChildProcess | undefined;
  private ready: Promise<{ backend: string; detail: string }> | undefined;
  private current:
    | {
        id: string;
        resolve: (r: JobReply) => void;
        reject: (e: Error) => void;
        onProgress: ((stage: string, detail?: Record<string, unknown>) => void) | undefined;
      }
    | undefined;
  backend = 'unknown';

  constructor(private readonly opts: ComputeProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Fork (if needed) and initialise; resolves with the backend in use. */
  start(): Promise<{ backend: string; detail: string }> {
    if (this.ready !== undefined) return this.ready;
    const execArgv = computeExecArgv(process.execArgv);
    const child = fork(CHILD, [], {
      execArgv,
      env: { ...process.env, ...this.opts.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (raw: unknown): void => {
        const msg = raw as ChildMessage;
        if (msg.type === 'hello') {
          const init: ParentMessage = {
            type: 'init',
            store: this.opts.store,
            backend: this.opts.backend,
            ...(this.opts.compute !== undefined ? { compute: this.opts.compute } : {}),
            worker: this.opts.worker,
            ...(this.opts.cacheDir !== undefined ? { cacheDir: this.opts.cacheDir } : {}),
            ...(this.opts.cacheBytes !== undefined ? { cacheBytes: this.opts.cacheBytes } : {}),
            ...(this.opts.openblasThreads !== undefined ? { openblasThreads: this.opts.openblasThreads } : {}),
          };
          child.send(init);
        } else if (msg.type === 'ready') {
          this.backend = msg.backend;
          const gc =
            execArgv.includes(SINGLE_THREADED_GC) && !process.execArgv.includes(SINGLE_THREADED_GC) ? '; one core: single-threaded GC' : '';
          resolve({ backend: msg.backend, detail: `${msg.detail}${gc}` });
        } else if (msg.type === 'init-failed') {
          reject(new Error(`compute process could not start: ${msg.message}`));
        } else if (msg.type === 'progress') {
          if (this.current?.id === msg.id) this.current.onProgress?.(msg.stage, msg.detail);
        } else if (msg.type === 'done' || msg.type === 'failed') {
          const cur = this.current;
          if (cur === undefined || cur.id !== msg.id) return;
          this.current = undefined;
          if (msg.type === 'done') cur.resolve(msg.reply);
          else cur.reject(new JobFailure(msg.message, msg.permanent));
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code, signal) => {
        const why = `compute process ${child.pid} exited (${signal ?? `code ${code}`})`;
        reject(new Error(why));
        const cur = this.current;
        this.current = undefined;
        this.child = undefined;
        this.ready = undefined;
        cur?.reject(new JobFailure(`${why} during job ${cur.id}`, false));
      });
    });
    this.ready.catch(() => undefined);
    return this.ready;
  }

  /** Run one job in the compute process (restarting it if it died). */
  async run(id: string, data: unknown, onProgress?: (stage: string, detail?: Record<string, unknown>) => void): Promise<JobReply> {
    await this.start();
    if (this.current !== undefined) throw new Error(`compute process busy with ${this.current.id}`);
    const child = this.child;
    if (child === undefined) throw new Error('compute process is not running');
    return new Promise<JobReply>((resolve, reject) => {
      this.current = { id, resolve, reject, onProgress };
      child.send({ type: 'job', id, data } satisfies ParentMessage);
    });
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Stop the compute process (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(graceMs = 5000): Promise<void> {
    if (this.child !== undefined) await terminate(this.child, graceMs);
  }
}

/** SIGTERM a child process, SIGKILL it if it has not exited after `graceMs`; resolves once it has exited. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
