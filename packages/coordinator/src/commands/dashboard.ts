import { redactRedisUrl } from '@atomizer/protocol/redis';
import { Command } from 'commander';
import { TOKEN_ENV } from '../dashboard/auth.js';
import { startDashboard, type DashboardOptions } from '../dashboard/server.js';
import { dashboardTokenOption, givenDashboardToken } from './dashboard-token.js';
import { addEndpointOptions, checkEndpoints, storeFrom, type EndpointOptions } from './endpoints.js';
import { hostOption, portOption, runOption } from './shared-options.js';

export interface DashboardCliOptions extends Pick<EndpointOptions, 'redis' | 's3' | 's3Endpoint'> {
  run?: string;
  host: string;
  port: number;
  token?: string;
  queuePrefix?: string;
  allowWrites?: boolean;
}

export function dashboardCommand(): Command {
  const cmd = new Command('dashboard');
  addEndpointOptions(cmd, { queues: false, outage: false });
  cmd
    .addOption(runOption('run to show', 'the most recently updated runs/<run>/status.json, looked for again every 10 s'))
    .addOption(hostOption())
    .addOption(portOption())
    .addOption(dashboardTokenOption())
    .option('--queue-prefix <prefix>', "BullMQ queue name prefix (default: the run config's queues.prefix, else atomizer)")
    .option('--allow-writes', 'let bull-board retry, remove, pause and clean jobs (read-only without it)')
    .addHelpText(
      'after',
      `
Pages: /  the training page    /queues  bull-board    /metrics  Prometheus    /api/status, /api/metrics  JSON

Examples:
  $ atomizer dashboard --redis redis://127.0.0.1:6379 --s3 s3://atomizer
  $ atomizer dashboard --s3 /tmp/atomizer-store --run statlog-20261127-101500 --port 0
  $ ${TOKEN_ENV}=$(openssl rand -hex 16) atomizer dashboard --host 0.0.0.0 --redis redis://redis:6379 --s3 s3://atomizer`,
    )
    .action(async (opts: DashboardCliOptions) => {
      const serving = dashboardSettings(opts);
      const store = await storeFrom(opts);
      await checkEndpoints(opts, store);
      const dashboard = await startDashboard({ redisUrl: opts.redis, store, ...serving });
      const token = serving.token;
      const s = dashboard.source.current;
      process.stderr.write(
        `dashboard for ${s.run !== null ? `run ${s.run}` : 'the newest run (none yet)'}: Redis ${redactRedisUrl(opts.redis)}, store ${store.describe()}, ` +
          `queues ${s.queuePrefix}-*, bull-board ${opts.allowWrites === true ? 'with writes allowed' : 'read-only'}${token !== undefined ? ', token required' : ''}\n`,
      );
      process.stdout.write(`${dashboard.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          process.stderr.write(`${sig}: stopping the dashboard\n`);
          void dashboard.close().then(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
  return cmd;
}

/** What the dashboard serves and how, from its options (Redis and the store from the endpoint options). */
export function dashboardSettings(opts: DashboardCliOptions): Omit<DashboardOptions, 'redisUrl' | 'store'> {
  const token = givenDashboardToken(opts.token);
  return {
    ...(opts.run !== undefined ? { run: opts.run } : {}),
    ...(opts.queuePrefix !== undefined ? { queuePrefix: opts.queuePrefix } : {}),
    host: opts.host,
    port: opts.port,
    ...(token !== undefined ? { token } : {}),
    readOnly: opts.allowWrites !== true,
  };
}
