import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { selectBackend } from '@atomizer/model';
import { openStore, type ObjectStore, type RunConfig } from '@atomizer/protocol';
import { REDIS_INSTALL_HINT, checkRedis, findRedisServer, redactRedisUrl, startEmbeddedRedis } from '@atomizer/protocol/redis';
import { startEmbeddedS3 } from '@atomizer/protocol/embedded';
import { Command, Option } from 'commander';
import { startDashboard, type Dashboard } from '../dashboard/index.js';
import { BullMQExecutor, train, withRunId, type TrainResult } from '../engine/index.js';
import { baselineRows, lastEvalRows, readBaselineData } from '../baselines.js';
import { ensureDebianProgram } from '../debian-package.js';
import { Supervisor, workerSlots } from '../launcher.js';
import { backendOption } from './backend-option.js';
import { ENDPOINT_ENV, queuesOf } from './endpoints.js';
import { configOption, jsonOption, portOption, workersOption } from './shared-options.js';
import { formatNumber, formatTable } from './table.js';
import { addRunConfigOptions, resolveTrainConfig, runConfigRules } from './run-config-options.js';
import { refuseUnusedOptions } from './unused-options.js';
import { roundReporter } from './train.js';

// `atomizer demo`: the whole system on one machine, the same code path as a
// cluster run with local endpoints. Redis (a redis-server child unless
// REDIS_URL is set), an S3 server on a temp folder (unless ATOMIZER_S3 names a
// store), the bundled real data sharded into it, worker processes, training,
// evaluation on seen and unseen modalities beside a fixed-slot baseline, the
// dashboard, and everything it started shut down at the end (Ctrl-C too).

/** The StatLog project's best published accuracy on the standard split (k-NN, all four bands). */
export const STATLOG_BEST_PUBLISHED = { accuracy: 0.906, method: 'k-NN (StatLog project)' };

type Out = (line?: string) => void;

/** redis-server: found, installed from Debian's packages when we may (root + apt), or a clear error. */
export function ensureRedisServer(say: Out): string {
  return ensureDebianProgram({ pkg: 'redis-server', find: findRedisServer, hint: REDIS_INSTALL_HINT }, say);
}

export interface DemoOptions {
  config: string;
  preset?: string;
  workers: number;
  json?: boolean;
  keep?: boolean;
  store?: string;
  port: number;
  baseline: boolean;
  backend: string;
  [k: string]: unknown;
}

/** The run config the demo trains with (no run id yet): the --config preset or file under the run-config flags. `--preset` is the old name of --config (warned). */
export async function demoRunConfig(opts: DemoOptions, command: Command, warn: (line: string) => void): Promise<RunConfig> {
  let config = opts.config;
  if (opts.preset !== undefined) {
    if (command.getOptionValueSource('config') === 'cli' && opts.config !== opts.preset)
      throw new Error('give the run config once: --config (--preset is its old name)');
    warn('atomizer: demo --preset is now --config (same values); --preset will be removed');
    config = opts.preset;
  }
  const resolved = await resolveTrainConfig({ ...opts, config });
  refuseUnusedOptions(command, resolved, runConfigRules());
  return resolved;
}

export function demoCommand(): Command {
  const cmd = new Command('demo')
    .addOption(configOption('statlog'))
    .addOption(new Option('--preset <name>', 'old name of --config').hideHelp())
    .addOption(workersOption())
    .addOption(backendOption('TensorFlow.js backend of the workers and the baseline'))
    .addOption(portOption())
    .option('--no-baseline', 'skip the fixed-slot baseline')
    .addOption(jsonOption('print the results as one JSON object (logs go to stderr)'))
    .option('--keep', 'leave the dashboard (and the services behind it) up until Ctrl-C')
    .option(
      '--store <dir>',
      'keep the run: use this folder as the object store (workers read it too) and leave it there, for atomizer eval / report',
    );
  addRunConfigOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Uses REDIS_URL and ATOMIZER_S3 (+ AWS_ENDPOINT_URL, credentials) when set; otherwise starts a
redis-server child on a free port and an S3 server on a temporary folder. Any run-config flag
of 'atomizer train' overrides the --config values (e.g. --train-rounds 10).

Examples:
  $ npx atomizer demo
  $ npx atomizer demo --config sen2-scene --json`,
  );
  cmd.action(async (opts: DemoOptions, command: Command) => {
    const t0 = performance.now();
    const json = opts.json === true;
    const out: Out = (line = '') => (json ? process.stderr : process.stdout).write(`${line}\n`);
    const log: Out = (line = '') => process.stderr.write(`${line}\n`);
    const config = withRunId(await demoRunConfig(opts, command, log));
    const dir = await mkdtemp(join(tmpdir(), 'atomizer-demo-'));
    const cleanups: Array<() => Promise<void>> = [];
    const cleanup = async (): Promise<void> => {
      for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    };
    const ac = new AbortController();
    let interrupted = false;
    const onSig = (): void => {
      if (interrupted) process.exit(130);
      interrupted = true;
      log('\nCtrl-C: stopping after this round and shutting everything down (Ctrl-C again to abort now)');
      ac.abort();
    };
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
    try {
      // Redis
      let redisUrl = process.env[ENDPOINT_ENV.redis];
      if (redisUrl !== undefined && redisUrl !== '') {
        await checkRedis(redisUrl);
        out(`Redis: ${redactRedisUrl(redisUrl)} (REDIS_URL)`);
      } else {
        const binary = ensureRedisServer(out);
        const redis = await startEmbeddedRedis({ binary });
        cleanups.push(() => redis.stop());
        redisUrl = redis.url;
        out(`Redis: started redis-server on ${redis.url}`);
      }
      // Object store
      let store: ObjectStore;
      let location: string;
      const workerEnv: Record<string, string> = {};
      const configured = process.env[ENDPOINT_ENV.store];
      if (opts.store !== undefined) {
        location = resolve(opts.store);
        store = await openStore(location);
        out(`store: folder ${location} (--store: kept after the demo)`);
      } else if (configured !== undefined && configured !== '') {
        store = await openStore(configured);
        location = configured;
        out(`store: ${store.describe()} (ATOMIZER_S3)`);
      } else {
        const s3 = await startEmbeddedS3({ dir: join(dir, 's3') });
        cleanups.push(() => s3.stop());
        store = s3.store();
        location = `s3://${s3.bucket}`;
        Object.assign(workerEnv, s3.env);
        out(`store: S3 server at ${s3.endpoint} on ${join(dir, 's3')}`);
      }
      // Workers, as separate processes (logs in the temp folder)
      const workerLog = createWriteStream(join(dir, 'workers.log'));
      cleanups.push(async () => void workerLog.end());
      const sup = new Supervisor({
        slots: workerSlots({ workers: opts.workers }, 'demo'),
        workerArgs: [
          '--redis',
          redisUrl,
          '--s3',
          location,
          '--backend',
          opts.backend,
          '--queue-prefix',
          config.queues.prefix,
          '--train-queues',
          String(config.queues.train),
        ],
        env: workerEnv,
        log: (m) => workerLog.write(`${m}\n`),
        output: (id, line) => workerLog.write(`[${id}] ${line}\n`),
      });
      sup.start();
      cleanups.push(() => sup.stop(10_000));
      out(`workers: ${opts.workers} processes (log: ${join(dir, 'workers.log')})`);
      // Dashboard
      let dashboard: Dashboard;
      try {
        dashboard = await startDashboard({ redisUrl, store, run: config.run, queuePrefix: config.queues.prefix, port: opts.port });
      } catch (err) {
        if (opts.port === 0 || !/EADDRINUSE/.test((err as Error).message)) throw err;
        dashboard = await startDashboard({ redisUrl, store, run: config.run, queuePrefix: config.queues.prefix, port: 0 });
      }
      cleanups.push(() => dashboard.close());
      out(`dashboard: ${dashboard.url}`);
      out();
      // Train
      const executor = await BullMQExecutor.open({
        redisUrl,
        run: config.run,
        queues: queuesOf({ queuePrefix: config.queues.prefix, trainQueues: config.queues.train }),
        log,
      });
      cleanups.push(() => executor.close());
      const reporter = roundReporter(config.train.rounds, 1);
      let result: TrainResult;
      try {
        result = await train({
          store,
          executor,
          config,
          log,
          onEvent: (e, s) => reporter.onEvent(e, s),
          signal: ac.signal,
        });
      } finally {
        reporter.stop();
      }
      const rows = lastEvalRows(result.evals);
      // The fixed-slot baseline scores single-label runs only.
      if (opts.baseline && rows.length > 0 && result.prepared.ctx.manifest.task === 'single') {
        // The baseline trains here, on the same backend choice as the workers (never tfjs's slow default cpu).
        await selectBackend(opts.backend as 'auto', () => undefined);
        log('training the fixed-slot baseline on the same samples ...');
        baselineRows(result, await readBaselineData(store, result, rows), rows, config.seed);
      }
      const seconds = (performance.now() - t0) / 1000;
      const statlog = result.prepared.ctx.manifest.name.startsWith('statlog');
      if (json) {
        process.stdout.write(
          `${JSON.stringify({
            run: result.run,
            state: result.state,
            config: opts.preset ?? opts.config,
            dataset: result.prepared.ctx.manifest.name,
            rounds: result.round,
            mode: config.train.mode,
            workers: opts.workers,
            loss: result.loss,
            seconds,
            dashboard: dashboard.url,
            ...(opts.store !== undefined ? { store: location } : {}),
            redis: redactRedisUrl(redisUrl),
            results: rows,
            ...(statlog ? { reference: STATLOG_BEST_PUBLISHED } : {}),
          })}\n`,
        );
      } else {
        out();
        out(
          `run ${result.run}: ${result.state} after ${result.round} rounds (${config.train.mode} mode, ${opts.workers} workers), final train loss ${formatNumber(result.loss)}`,
        );
        out(
          `evaluation on ${[...new Set(rows.map((r) => r.split))].join('+')} (seen = a modality trained on; unseen = never in training):`,
        );
        const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(3));
        out(
          formatTable(
            [
              'split',
              'modality',
              'seen',
              'samples',
              'accuracy',
              'macro F1',
              ...(rows.some((r) => r.mAP !== undefined) ? ['mAP'] : []),
              'baseline acc',
              'baseline F1',
            ],
            rows.map((r) => [
              r.split,
              r.modality,
              r.seen,
              r.samples,
              f(r.accuracy),
              f(r.macroF1),
              ...(rows.some((x) => x.mAP !== undefined) ? [f(r.mAP)] : []),
              f(r.baselineAccuracy),
              f(r.baselineMacroF1),
            ]),
          ),
        );
        out("baseline: a plain MLP with fixed input slots (a missing band zero-filled, a new band in its spectral neighbour's slot)");
        if (statlog)
          out(
            `reference: best published on this split ${STATLOG_BEST_PUBLISHED.accuracy} (${STATLOG_BEST_PUBLISHED.method}, all four bands)`,
          );
        // Without --keep everything stops now: no link to a dashboard that is about to go away.
        if (opts.store !== undefined) {
          out(
            `the run is kept in ${location}: atomizer eval --run ${result.run} --s3 ${location} --dataset <kind:path>; atomizer report --run ${result.run} --s3 ${location}`,
          );
        }
        out(
          `demo done in ${seconds.toFixed(1)} s${opts.keep === true ? `; dashboard ${dashboard.url} (kept up: Ctrl-C to stop)` : ' (--keep leaves the dashboard up)'}`,
        );
      }
      if (opts.keep === true && !interrupted) {
        await sup.stop(10_000);
        // Ctrl-C may already have come while the workers were stopping.
        if (!ac.signal.aborted) await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }));
      }
    } finally {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
      await cleanup();
      await rm(dir, { recursive: true, force: true });
    }
    process.exit(0);
  });
  return cmd;
}
