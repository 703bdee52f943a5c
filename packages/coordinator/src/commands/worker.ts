import { checkRedis } from '@atomizer/protocol/redis';
import { COMPUTE_MODES, startWorker, type ComputeMode, type WorkerOptions } from '@atomizer/worker';
import { Command, Option } from 'commander';
import { backendOption } from './backend-option.js';
import { addEndpointOptions, checkStore, queuesOf, storeFrom, type EndpointOptions } from './endpoints.js';
import { positiveInt, positiveSeconds } from './option-values.js';
import { lockSecondsOption, nameList, queuesOption } from './shared-options.js';

// `atomizer worker`: one worker process (one per GPU): pulls train and eval
// jobs from BullMQ, computes in a separate compute process, uploads results.

export interface WorkerCliOptions extends EndpointOptions {
  queues?: string;
  backend: string;
  compute: ComputeMode;
  concurrency: number;
  cacheDir?: string;
  cacheBytes: number;
  lockSeconds: number;
  drainSeconds: number;
  id?: string;
}

/** What the worker is started with, from its options (everything but the log). */
export function workerSettings(opts: WorkerCliOptions): Omit<WorkerOptions, 'log'> {
  const q = queuesOf(opts);
  return {
    redisUrl: opts.redis,
    store: opts.s3,
    queues: opts.queues !== undefined ? nameList(opts.queues) : [...q.train, q.eval],
    backend: opts.backend,
    compute: opts.compute,
    concurrency: opts.concurrency,
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    cacheBytes: opts.cacheBytes,
    lockMs: opts.lockSeconds * 1000,
    drainMs: opts.drainSeconds * 1000,
    ...(opts.outageBudget !== undefined ? { outageBudgetMs: opts.outageBudget * 1000 } : {}),
    ...(opts.id !== undefined ? { id: opts.id } : {}),
  };
}

export function workerCommand(): Command {
  const cmd = new Command('worker');
  addEndpointOptions(cmd)
    .addOption(queuesOption())
    .addOption(backendOption())
    .addOption(
      new Option(
        '--compute <mode>',
        "model: train and evaluate the run's model; stub: no model, a deterministic pseudo-gradient of the run's size (scale simulations, npm run bench:scale)",
      )
        .choices([...COMPUTE_MODES])
        .default('model'),
    )
    .addOption(
      new Option('--concurrency <n>', 'jobs at once (one compute process each)').default(1).argParser(positiveInt('--concurrency')),
    )
    .option('--cache-dir <dir>', 'shard cache folder (default: <tmp>/atomizer-cache/<store hash>)')
    .addOption(
      new Option('--cache-bytes <n>', 'shard cache size bound in bytes').default(2 * 1024 ** 3).argParser(positiveInt('--cache-bytes')),
    )
    .addOption(lockSecondsOption())
    .addOption(
      new Option('--drain-seconds <s>', 'on SIGTERM, how long to let the current job finish before releasing it')
        .default(60)
        .argParser(positiveSeconds('--drain-seconds')),
    )
    .option('--id <id>', 'worker id shown on the dashboard (default: <host>-<pid>)')
    .addHelpText(
      'after',
      `
One worker process per GPU (set CUDA_VISIBLE_DEVICES), or one per core on CPU; see atomizer launch.
SIGTERM / Ctrl-C: finish (or release) the current job and exit. Redis and S3 outages are ridden out
up to --outage-budget; past it the worker exits with code 1 and the reason.

Example:
  $ atomizer worker --redis redis://127.0.0.1:6379 --s3 s3://atomizer --s3-endpoint http://127.0.0.1:9000`,
    )
    .action(async (opts: WorkerCliOptions) => {
      // Applies --s3-endpoint and --outage-budget to the environment the compute process inherits.
      const store = await storeFrom(opts);
      await checkRedis(opts.redis);
      // A store that never answered is a wrong endpoint, not an outage: say so now, not after every job waited out the budget.
      await checkStore(store);
      // One listener per signal for the command's whole life, only what it does changes: Node
      // dispatches a delivered signal on a later turn of the loop, to the listeners registered
      // then, so swapping listeners (an early one while the backend loads, then the real one)
      // lost a SIGTERM that arrived just as start-up finished, and the worker ran on.
      // A stop requested while the backend is still loading is honoured once it is up; a
      // second signal while stopping exits at once.
      let early: NodeJS.Signals | undefined;
      const secondSignal = (sig: NodeJS.Signals): never => {
        process.stderr.write(`atomizer: second ${sig}: exiting without waiting for the current job (it will be retried)\n`);
        process.exit(1);
      };
      let onSignal = (sig: NodeJS.Signals): void => {
        if (early !== undefined) secondSignal(sig);
        early = sig;
      };
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => onSignal(sig));
      const w = await startWorker({ ...workerSettings(opts), log: (m) => process.stderr.write(`[${new Date().toISOString()}] ${m}\n`) });
      let stopping = false;
      onSignal = (sig) => {
        if (stopping) secondSignal(sig);
        stopping = true;
        void w.stop(`${sig} received`);
      };
      if (early !== undefined) {
        stopping = true;
        void w.stop(`${early} received during start-up`);
      }
      await w.closed;
      // Stopped by itself (an outage past the budget): non-zero, so a supervisor restarts it.
      if (w.failure !== undefined) {
        process.stderr.write(`atomizer: worker stopped: ${w.failure}; it is safe to start it again (atomizer launch does)\n`);
        process.exit(1);
      }
      process.exit(0);
    });
  return cmd;
}
