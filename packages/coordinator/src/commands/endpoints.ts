import { DEFAULT_REDIS_URL, checkRedis, openStore, queueNames, type ObjectStore } from '@atomizer/protocol';
import { Option, type Command } from 'commander';

// The endpoint options every distributed command shares (train, worker, launch,
// dashboard, eval): one Redis URL, one store location, the queue layout. Their
// defaults come from the environment so that containers configure them there.

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
}

export function addEndpointOptions(cmd: Command, { queues = true, redis = true }: { queues?: boolean; redis?: boolean } = {}): Command {
  if (redis) {
    cmd.addOption(new Option('--redis <url>', 'Redis URL (redis:// or rediss:// for TLS; password also from REDIS_PASSWORD)').env(ENDPOINT_ENV.redis).default(DEFAULT_REDIS_URL));
  }
  cmd
    .addOption(
      new Option('--s3 <location>', 'object store: s3://bucket/prefix (endpoint and credentials from AWS_* variables) or a local folder')
        .env(ENDPOINT_ENV.store)
        .default('s3://atomizer'),
    )
    .addOption(new Option('--s3-endpoint <url>', 'S3-compatible endpoint, e.g. http://minio:9000 (sets AWS_ENDPOINT_URL)'));
  if (queues) {
    cmd
      .addOption(new Option('--queue-prefix <prefix>', 'BullMQ queue name prefix').default('atomizer'))
      .addOption(new Option('--train-queues <k>', 'train queues the slices are spread over').default(1).argParser((v) => positive('--train-queues', v)));
  }
  return cmd;
}

export function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

/** Apply --s3-endpoint to this process's environment (children inherit it) and open the store. */
export function storeFrom(opts: Pick<EndpointOptions, 's3' | 's3Endpoint'>): ObjectStore {
  if (opts.s3Endpoint !== undefined && opts.s3Endpoint !== '') process.env[ENDPOINT_ENV.s3Endpoint] = opts.s3Endpoint;
  return openStore(opts.s3);
}

/** Check that Redis and the store answer before anything heavy starts. */
export async function checkEndpoints(opts: Pick<EndpointOptions, 'redis'>, store: ObjectStore): Promise<void> {
  await checkRedis(opts.redis);
  try {
    await store.list('runs/');
  } catch (err) {
    throw new Error(`the object store ${store.describe()} does not answer: ${(err as Error).message}`);
  }
}

export function queuesOf(opts: Pick<EndpointOptions, 'queuePrefix' | 'trainQueues'>) {
  return queueNames(opts.queuePrefix, opts.trainQueues);
}
