import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { killWithParent } from '@atomizer/protocol';
import { terminate } from '@atomizer/worker';

// Worker supervision for `atomizer launch` and the demo: one `atomizer worker`
// process per GPU (CUDA_VISIBLE_DEVICES=<gpu>, allow-growth) or per CPU slot,
// restarted with exponential backoff when one dies, every start and exit
// logged. Stopping sends SIGTERM (finish or release the current job) and
// SIGKILL after a grace period. A worker never outlives the process that
// started it: if that process dies (even by SIGKILL, or a signal sent to `npx`
// only), a watchdog gives each worker the same SIGTERM, then SIGKILL.

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CLI = fileURLToPath(new URL(`./cli${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));

/** Node flags a child needs to run the CLI: from source, the tsx loader and the source export condition. */
function childExecArgv(): string[] {
  if (!FROM_SOURCE) return [];
  return ['--conditions=@atomizer/source', '--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
}

export interface WorkerSlot {
  /** Worker id (dashboard, logs). */
  id: string;
  /** GPU index for CUDA_VISIBLE_DEVICES; undefined: CPU worker (CUDA_VISIBLE_DEVICES='' so tfjs-node-gpu stays off GPUs). */
  gpu?: string;
}

export interface SupervisorOptions {
  slots: WorkerSlot[];
  /** Arguments after `atomizer worker` (endpoints, queues, backend...). */
  workerArgs: string[];
  env?: NodeJS.ProcessEnv;
  log?: (msg: string) => void;
  /** First restart delay, ms (doubles up to maxBackoffMs; reset after a minute of uptime). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Where worker output goes: 'inherit' (launch) or a line callback (demo). */
  output?: 'inherit' | ((id: string, line: string) => void);
}

/** How long a stopped worker may take to finish or release its job before SIGKILL. */
const STOP_GRACE_MS = 70_000;

interface Running {
  slot: WorkerSlot;
  child?: ChildProcess;
  restarts: number;
  backoff: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
}

export class Supervisor {
  private readonly running: Running[];
  private stopping = false;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: SupervisorOptions) {
    if (opts.slots.length === 0) throw new Error('launch: no worker to start (give --gpus or --workers)');
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.running = opts.slots.map((slot) => ({ slot, restarts: 0, backoff: opts.backoffMs ?? 1000, startedAt: 0 }));
  }

  /** Command line of a slot's worker (for logs and tests). */
  command(slot: WorkerSlot): string[] {
    return [process.execPath, ...childExecArgv(), CLI, 'worker', '--id', slot.id, ...this.opts.workerArgs];
  }

  start(): void {
    for (const r of this.running) this.spawn(r);
  }

  get pids(): number[] {
    return this.running.flatMap((r) => (r.child?.pid !== undefined && r.child.exitCode === null ? [r.child.pid] : []));
  }

  get restarts(): number {
    return this.running.reduce((n, r) => n + r.restarts, 0);
  }

  private spawn(r: Running): void {
    const [cmd, ...args] = this.command(r.slot);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.opts.env,
      CUDA_VISIBLE_DEVICES: r.slot.gpu ?? '',
      TF_FORCE_GPU_ALLOW_GROWTH: 'true',
    };
    const output = this.opts.output ?? 'inherit';
    const child = spawn(cmd as string, args, {
      env,
      stdio: output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    if (typeof output === 'function') {
      for (const stream of [child.stdout, child.stderr]) {
        let buf = '';
        stream?.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const line of lines) output(r.slot.id, line);
        });
      }
    }
    if (child.pid !== undefined) killWithParent(child, { graceMs: STOP_GRACE_MS });
    r.child = child;
    r.startedAt = Date.now();
    this.log(`launch: worker ${r.slot.id} started (pid ${child.pid}${r.slot.gpu !== undefined ? `, GPU ${r.slot.gpu}` : ', CPU'})`);
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      if (Date.now() - r.startedAt > 60_000) r.backoff = this.opts.backoffMs ?? 1000;
      const delay = r.backoff;
      r.backoff = Math.min(r.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
      r.restarts++;
      this.log(`launch: worker ${r.slot.id} exited (${signal ?? `code ${code}`}); restart ${r.restarts} in ${(delay / 1000).toFixed(1)} s`);
      r.timer = setTimeout(() => this.spawn(r), delay);
    });
  }

  /** SIGTERM every worker (they finish or release their job), SIGKILL after `graceMs`. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.running.map(async (r) => {
        if (r.timer !== undefined) clearTimeout(r.timer);
        if (r.child !== undefined) await terminate(r.child, graceMs);
      }),
    );
  }
}

/** Slots for `--gpus 0,1,2` or `--workers N`. */
export function workerSlots(opts: { gpus?: string; workers?: number; prefix?: string }, host = 'local'): WorkerSlot[] {
  const prefix = opts.prefix ?? host;
  if (opts.gpus !== undefined && opts.gpus !== '') {
    const gpus = opts.gpus.split(',').map((g) => g.trim());
    for (const g of gpus)
      if (!/^\d+$/.test(g)) throw new Error(`--gpus takes comma-separated GPU indices (e.g. 0,1,2,3), got '${opts.gpus}'`);
    if (new Set(gpus).size !== gpus.length) throw new Error(`--gpus lists a GPU twice: '${opts.gpus}'`);
    return gpus.map((g) => ({ id: `${prefix}-gpu${g}`, gpu: g }));
  }
  const n = opts.workers ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--workers must be a positive integer, got ${n}`);
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-cpu${i}` }));
}
