import {
  DEFAULT_OUTAGE_BUDGET_S,
  OUTAGE_BUDGET_ENV,
  ResilientStore,
  openStore,
  parseRunConfig,
  queueNames,
  type ObjectStore,
} from '@atomizer/protocol';
import { DEFAULT_REDIS_URL, checkRedis } from '@atomizer/protocol/redis';
import { Option, type Command } from 'commander';
import { positiveInt, positiveSeconds } from './option-values.js';

// The endpoint options every distributed command shares (train, worker, launch,
// dashboard, eval): one Redis URL, one store location, the queue layout, the outage
// budget. Their defaults come from the environment so that containers configure them there.

export const ENDPOINT_ENV = {
  redis: 'REDIS_URL',
  store: 'ATOMIZER_S3',
  s3Endpoint: 'AWS_ENDPOINT_URL',
} as const;

export interface EndpointOptions {
  redis: string;
  s3: string;
  s3Endpoint?: string;
  queuePrefix: string;
  trainQueues: number;
  /** Seconds a Redis or store outage is ridden out (commands that do long work); absent where outages fail at once. */
  outageBudget?: number;
}

/**
 * The shared endpoint options. `outage`: the command does long work (train, worker, launch,
 * eval) and rides out outages up to --outage-budget; without it (dashboard, report) a store
 * outage is reported at once. `queues: 'prefix'`: only --queue-prefix (predict, whose jobs go
 * to the eval queue, has no use for --train-queues).
 */
export function addEndpointOptions(
  cmd: Command,
  { queues = true, redis = true, outage = true }: { queues?: boolean | 'prefix'; redis?: boolean; outage?: boolean } = {},
): Command {
  if (outage) {
    cmd.addOption(
      new Option(
        '--outage-budget <s>',
        'how long a Redis or S3 outage is ridden out (retries with backoff) before the command stops with the reason, seconds',
      )
        .env(OUTAGE_BUDGET_ENV)
        .default(DEFAULT_OUTAGE_BUDGET_S)
        .argParser(positiveSeconds('--outage-budget')),
    );
  }
  if (redis) {
    cmd.addOption(
      new Option('--redis <url>', 'Redis URL (redis:// or rediss:// for TLS; password also from REDIS_PASSWORD)')
        .env(ENDPOINT_ENV.redis)
        .default(DEFAULT_REDIS_URL),
    );
  }
  cmd
    .addOption(
      new Option('--s3 <location>', 'object store: s3://bucket/prefix (endpoint and credentials from AWS_* variables) or a local folder')
        .env(ENDPOINT_ENV.store)
        .default('s3://atomizer'),
    )
    .addOption(new Option('--s3-endpoint <url>', 'S3-compatible endpoint, e.g. http://minio:9000 (sets AWS_ENDPOINT_URL)'));
  if (queues !== false) {
    // The run config's queue layout, with its defaults: the workers serve what train uses.
    const { queues: dflt } = parseRunConfig({});
    cmd.addOption(new Option('--queue-prefix <prefix>', 'BullMQ queue name prefix').default(dflt.prefix));
    if (queues === true)
      cmd.addOption(
        new Option('--train-queues <k>', 'train queues the slices are spread over')
          .default(dflt.train)
          .argParser(positiveInt('--train-queues')),
      );
  }
  return cmd;
}

/**
 * Apply --s3-endpoint and --outage-budget to this process's environment (children such as
 * workers and compute processes inherit them) and open the store: riding out outages when
 * the command has an outage budget, failing at once otherwise.
 */
export async function storeFrom(opts: Pick<EndpointOptions, 's3' | 's3Endpoint' | 'outageBudget'>): Promise<ObjectStore> {
  if (opts.s3Endpoint !== undefined && opts.s3Endpoint !== '') process.env[ENDPOINT_ENV.s3Endpoint] = opts.s3Endpoint;
  if (opts.outageBudget === undefined) return openStore(opts.s3, { outage: false });
  process.env[OUTAGE_BUDGET_ENV] = String(opts.outageBudget);
  return openStore(opts.s3);
}

/**
 * Check that the store answers, once and at once: a store that never answered is a wrong
 * endpoint or credentials, not an outage to wait out.
 */
export async function checkStore(store: ObjectStore): Promise<void> {
  const bare = store instanceof ResilientStore ? store.inner : store;
  try {
    await bare.list('runs/');
  } catch (err) {
    throw new Error(
      `the object store ${store.describe()} does not answer (${(err as Error).message}); check --s3 / --s3-endpoint (or ATOMIZER_S3 / AWS_ENDPOINT_URL) and that the server is running`,
    );
  }
}

/** Check that Redis and the store answer before anything heavy starts. */
export async function checkEndpoints(opts: Pick<EndpointOptions, 'redis'>, store: ObjectStore): Promise<void> {
  await checkRedis(opts.redis);
  await checkStore(store);
}

export function queuesOf(opts: Pick<EndpointOptions, 'queuePrefix' | 'trainQueues'>) {
  return queueNames(opts.queuePrefix, opts.trainQueues);
}
