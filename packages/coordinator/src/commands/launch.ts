import { hostname } from 'node:os';
import { checkRedis, redactRedisUrl } from '@atomizer/protocol/redis';
import { Command } from 'commander';
import { Supervisor, workerSlots, type SupervisorOptions } from '../launcher.js';
import { backendOption } from './backend-option.js';
import { ENDPOINT_ENV, addEndpointOptions, checkStore, storeFrom, type EndpointOptions } from './endpoints.js';
import { lockSecondsOption, queuesOption, workersOption } from './shared-options.js';

// `atomizer launch`: one worker process per GPU (or N on CPU), supervised.

export interface LaunchOptions extends EndpointOptions {
  gpus?: string;
  workers: number;
  queues?: string;
  backend?: string;
  lockSeconds: number;
}

/**
 * The workers launch supervises, from its options: --workers and --gpus exclude each other
 * (given on the command line), the default backend is tensorflow-gpu with --gpus. The Redis
 * URL (it may hold a password) goes to the workers through their environment, not their
 * command line, which any user of the machine can read (ps).
 */
export function launchPlan(
  opts: LaunchOptions,
  workersGiven: boolean,
): Pick<SupervisorOptions, 'slots' | 'workerArgs' | 'env'> & { backend: string } {
  if (opts.gpus !== undefined && workersGiven) throw new Error('give either --gpus or --workers, not both');
  const slots = workerSlots({ ...(opts.gpus !== undefined ? { gpus: opts.gpus } : {}), workers: opts.workers }, hostname());
  const backend = opts.backend ?? (opts.gpus !== undefined ? 'tensorflow-gpu' : 'auto');
  const workerArgs = [
    '--s3',
    opts.s3,
    '--queue-prefix',
    opts.queuePrefix,
    '--train-queues',
    String(opts.trainQueues),
    '--backend',
    backend,
    '--lock-seconds',
    String(opts.lockSeconds),
    ...(opts.outageBudget !== undefined ? ['--outage-budget', String(opts.outageBudget)] : []),
    ...(opts.s3Endpoint !== undefined ? ['--s3-endpoint', opts.s3Endpoint] : []),
    ...(opts.queues !== undefined ? ['--queues', opts.queues] : []),
  ];
  return { slots, workerArgs, env: { [ENDPOINT_ENV.redis]: opts.redis }, backend };
}

export function launchCommand(): Command {
  const cmd = new Command('launch');
  addEndpointOptions(cmd)
    .option('--gpus <list>', 'GPU indices, one worker each, e.g. 0,1,2,3 (CUDA_VISIBLE_DEVICES per worker, allow-growth)')
    .addOption(workersOption('on CPU (instead of --gpus)'))
    .addOption(queuesOption())
    .addOption(backendOption('TensorFlow.js backend of each worker (default: tensorflow-gpu with --gpus, else auto)', undefined))
    .addOption(lockSecondsOption())
    .addHelpText(
      'after',
      `
A worker that dies is restarted with exponential backoff (1 s doubling to 30 s), logged.
Ctrl-C / SIGTERM stops every worker cleanly (each finishes or releases its job).
Several machines: run 'atomizer launch' on each and 'atomizer train' once, all with the
same --redis and --s3 (docs/cluster.md).

Examples:
  $ atomizer launch --gpus 0,1,2,3 --redis redis://10.0.0.5:6379 --s3 s3://atomizer --s3-endpoint http://10.0.0.5:9000
  $ atomizer launch --workers 2 --redis redis://127.0.0.1:6379 --s3 s3://atomizer`,
    )
    .action(async (opts: LaunchOptions, command: Command) => {
      const plan = launchPlan(opts, command.getOptionValueSource('workers') === 'cli');
      const store = await storeFrom(opts);
      await checkRedis(opts.redis);
      await checkStore(store);
      const { slots, backend } = plan;
      const sup = new Supervisor({ slots, workerArgs: plan.workerArgs, env: plan.env });
      process.stderr.write(
        `launch: ${slots.length} worker(s) (${slots.map((s) => s.id).join(', ')}), backend ${backend}, Redis ${redactRedisUrl(opts.redis)}\n`,
      );
      sup.start();
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => () => {
          process.stderr.write(`launch: ${sig}: stopping the workers\n`);
          void sup.stop().then(resolve);
        };
        process.once('SIGINT', stop('SIGINT'));
        process.once('SIGTERM', stop('SIGTERM'));
      });
      process.exit(0);
    });
  return cmd;
}
