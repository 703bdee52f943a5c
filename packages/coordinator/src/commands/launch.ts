import { hostname } from 'node:os';
import { BACKEND_CHOICES } from '@atomizer/model';
import { checkRedis, redactRedisUrl } from '@atomizer/protocol';
import { Command, Option } from 'commander';
import { Supervisor, workerSlots } from '../launcher.js';
import { ENDPOINT_ENV, addEndpointOptions, checkStore, positive, storeFrom, type EndpointOptions } from './endpoints.js';

// `atomizer launch`: one worker process per GPU (or N on CPU), supervised.

interface LaunchOptions extends EndpointOptions {
  gpus?: string;
  workers?: number;
  queues?: string;
  backend: string;
  lockSeconds?: number;
}

export function launchCommand(): Command {
  const cmd = new Command('launch');
  addEndpointOptions(cmd)
    .option('--gpus <list>', 'GPU indices, one worker each, e.g. 0,1,2,3 (CUDA_VISIBLE_DEVICES per worker, allow-growth)')
    .addOption(new Option('--workers <n>', 'CPU workers (when --gpus is not given)').argParser((v) => positive('--workers', v)))
    .option('--queues <names>', 'comma-separated queues each worker serves (default: the train queues and the eval queue)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend of each worker (default: tensorflow-gpu with --gpus, else auto)').choices([...BACKEND_CHOICES]))
    .addOption(new Option('--lock-seconds <s>', 'job lock duration of each worker').argParser((v) => positive('--lock-seconds', v)))
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
    .action(async (opts: LaunchOptions) => {
      if (opts.gpus !== undefined && opts.workers !== undefined) throw new Error('give either --gpus or --workers, not both');
      const store = storeFrom(opts);
      await checkRedis(opts.redis);
      await checkStore(store);
      const slots = workerSlots({ ...(opts.gpus !== undefined ? { gpus: opts.gpus } : {}), workers: opts.workers ?? 1 }, hostname());
      const backend = opts.backend ?? (opts.gpus !== undefined ? 'tensorflow-gpu' : 'auto');
      // The Redis URL (it may hold a password) goes to the workers through their environment,
      // not their command line, which any user of the machine can read (ps).
      const args = [
        '--s3', opts.s3, '--queue-prefix', opts.queuePrefix, '--train-queues', String(opts.trainQueues), '--backend', backend,
        ...(opts.s3Endpoint !== undefined ? ['--s3-endpoint', opts.s3Endpoint] : []),
        ...(opts.queues !== undefined ? ['--queues', opts.queues] : []),
        ...(opts.lockSeconds !== undefined ? ['--lock-seconds', String(opts.lockSeconds)] : []),
      ];
      const sup = new Supervisor({ slots, workerArgs: args, env: { [ENDPOINT_ENV.redis]: opts.redis } });
      process.stderr.write(`launch: ${slots.length} worker(s) (${slots.map((s) => s.id).join(', ')}), backend ${backend}, Redis ${redactRedisUrl(opts.redis)}\n`);
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
