import { selectBackend } from '@atomizer/model';
import { ResilientStore, parseRunConfig, type MetricEvent, type ObjectStore, type RunConfig, type RunStatus } from '@atomizer/protocol';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { startDashboard, type Dashboard } from '../dashboard/index.js';
import {
  BullMQExecutor,
  InProcessExecutor,
  planResumeChanges,
  recordResumeChanges,
  train,
  withRunId,
  type Executor,
  type ResumePlan,
  type TrainResult,
} from '../engine/index.js';
import { lastEvalRows } from '../baselines.js';
import { RunStore } from '../run-store.js';
import { backendOption } from './backend-option.js';
import { addRunConfigOptions, configSource, givenTrainConfig, runConfigRules } from './run-config-options.js';
import { configOption, hostOption, jsonOption, portOption } from './shared-options.js';
import { refuseUnusedOptions, type OptionRule } from './unused-options.js';
import { dashboardTokenOption, givenDashboardToken } from './dashboard-token.js';
import { addEndpointOptions, checkEndpoints, queuesOf, storeFrom, type EndpointOptions } from './endpoints.js';
import { progressReporter } from './shard.js';
import { formatNumber, formatTable } from './table.js';

// `atomizer train`: the coordinator. Every run-config value has a flag (from
// the schema in @atomizer/protocol), a YAML/JSON file may set them, flags win.
// With --resume the run's stored config is the base and the values given are changes.

/**
 * The config the run trains with. A new run: defaults < file < flags. `--resume`: the run's
 * stored config, with the safe changes among the values given applied and recorded
 * (engine/resume-changes.ts), any other change refused before anything is written.
 */
export async function trainRunConfig(opts: Record<string, unknown>, store: ObjectStore): Promise<{ config: RunConfig; plan?: ResumePlan }> {
  const given = await givenTrainConfig(opts);
  const config = parseRunConfig(given, configSource(opts));
  if (opts.resume !== true) return { config: withRunId(config) };
  if (config.run === '') throw new Error('--resume needs the id of the run to continue: give --run <id> (or run: in the --config file)');
  // Checked now, written once this coordinator holds the run (recordResumeChanges).
  const plan = await planResumeChanges(new RunStore(store, config.run), { given, source: configSource(opts) });
  return plan === undefined ? { config } : { config: plan.run.config, plan };
}

/** A live line per round: a progress bar on a terminal, else a log line. */
export function roundReporter(total: number, startRound: number): { onEvent(e: MetricEvent, s: RunStatus): void; stop(): void } {
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new SingleBar({
        format: 'round {value}/{total} [{bar}] loss {loss} | lr {lr} | {sps} samples/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
      })
    : undefined;
  let started = false;
  return {
    onEvent(e, s) {
      if (e.type !== 'round') return;
      const payload = { loss: e.loss.toFixed(4), lr: e.lr.toExponential(2), sps: (s.samplesPerSecond ?? 0).toFixed(1) };
      if (bar !== undefined) {
        if (!started) {
          bar.start(total, startRound - 1, payload);
          started = true;
        }
        bar.update(e.round, payload);
      } else {
        process.stderr.write(
          `round ${e.round}/${total}: loss ${payload.loss}, lr ${payload.lr}, ${payload.sps} samples/s, ${Math.round(e.wallMs)} ms (compute ${Math.round(e.slowestComputeMs)} ms)` +
            `${s.etaSeconds !== undefined ? `, ETA ${Math.round(s.etaSeconds)} s` : ''}\n`,
        );
      }
    },
    stop() {
      if (started) bar?.stop();
    },
  };
}

/** The evaluation table (per split and modality, seen/unseen). */
export function formatEvalTable(result: Pick<TrainResult, 'evals'>): string {
  const last = Math.max(...result.evals.map((e) => e.round));
  const rows = result.evals.filter((e) => e.round === last);
  if (rows.length === 0) return '(no evaluation)';
  return formatTable(
    ['split', 'modality', 'seen', 'samples', 'accuracy', 'macro F1', 'mAP', 'loss'],
    rows.map((e) => [
      e.split,
      e.modality,
      e.seen,
      e.samples,
      e.accuracy ?? Number.NaN,
      e.macroF1 ?? Number.NaN,
      e.mAP ?? Number.NaN,
      e.loss,
    ]),
  );
}

export interface TrainCliOptions extends EndpointOptions {
  config?: string;
  resume?: boolean;
  executor: 'bullmq' | 'in-process';
  backend: string;
  json?: boolean;
  dashboard?: boolean;
  port: number;
  host: string;
  token?: string;
  [k: string]: unknown;
}

/** Options train uses only with others: refused when given without them. */
const TRAIN_OPTION_RULES: ReadonlyArray<OptionRule<TrainCliOptions>> = [
  {
    option: 'backend',
    applies: (o) => o.executor === 'in-process',
    when: 'with --executor in-process (the workers choose their own backend)',
  },
  { option: 'redis', applies: (o) => o.executor !== 'in-process', when: 'with --executor bullmq (in-process runs need no Redis)' },
  { option: 'port', applies: (o) => o.dashboard === true, when: 'with --dashboard' },
  { option: 'host', applies: (o) => o.dashboard === true, when: 'with --dashboard' },
  { option: 'token', applies: (o) => o.dashboard === true, when: 'with --dashboard' },
];

/** Refuse the options given that the others leave unused (the run-config flags are checked against the resolved config). */
export function checkTrainOptions(opts: TrainCliOptions, command: Command): void {
  refuseUnusedOptions(command, opts, TRAIN_OPTION_RULES);
}

export function trainCommand(): Command {
  const cmd = new Command('train');
  addEndpointOptions(cmd, { queues: false })
    .addOption(configOption())
    .option(
      '--resume',
      'continue the run --run <id> from its latest checkpoint (same or different number of workers); flags and --config values that differ from the run are applied if a running run can take them (more rounds, learning-rate schedule, eval/checkpoint cadence, quorum, deadline) and refused otherwise',
    )
    .addOption(
      new Option('--executor <kind>', 'bullmq: workers in other processes; in-process: one process, no Redis')
        .choices(['bullmq', 'in-process'])
        .default('bullmq'),
    )
    .addOption(backendOption('with --executor in-process: TensorFlow.js backend of this process'))
    .addOption(
      jsonOption(
        'print the outcome as one JSON object: run, state, round, loss, the last evaluation rows (logs and progress go to stderr)',
      ),
    )
    .option('--dashboard', 'also serve the dashboard for this run (training page, bull-board, /metrics)')
    .addOption(portOption('with --dashboard'))
    .addOption(hostOption('with --dashboard'))
    .addOption(dashboardTokenOption('with --dashboard'));
  addRunConfigOptions(cmd);
  cmd
    .addHelpText(
      'after',
      `
Start workers with 'atomizer worker' (or 'atomizer launch') against the same --redis and --s3.
The resolved config is stored at runs/<run>/config.json; metrics at runs/<run>/metrics.jsonl.

Examples:
  $ atomizer train --config statlog --redis redis://127.0.0.1:6379 --s3 s3://atomizer
  $ atomizer train --run statlog-20261127-101500 --resume
  $ atomizer train --run statlog-20261127-101500 --resume --train-rounds 60 --train-lr 5e-4   # changes recorded in runs/<run>/config-changes.jsonl`,
    )
    .action(async (opts: TrainCliOptions, command: Command) => {
      checkTrainOptions(opts, command);
      const store = await storeFrom(opts);
      if (opts.executor !== 'in-process') await checkEndpoints(opts, store);
      if (opts.dashboard === true && opts.executor === 'in-process') {
        throw new Error(
          '--dashboard needs Redis (the default --executor bullmq); for an in-process run, start atomizer dashboard separately',
        );
      }
      const first = await trainRunConfig(opts, store);
      refuseUnusedOptions(command, first.config, runConfigRules());
      let config = first.config;
      let executor: Executor;
      if (opts.executor === 'in-process') {
        const info = await selectBackend(opts.backend as 'auto', () => undefined);
        executor = new InProcessExecutor(store, info.name);
      } else {
        const q = queuesOf({ queuePrefix: config.queues.prefix, trainQueues: config.queues.train });
        executor = await BullMQExecutor.open({
          redisUrl: opts.redis,
          run: config.run,
          queues: q,
          log: (m) => process.stderr.write(`${m}\n`),
        });
      }
      let dashboard: Dashboard | undefined;
      try {
        if (opts.dashboard === true) {
          const token = givenDashboardToken(opts.token);
          dashboard = await startDashboard({
            redisUrl: opts.redis,
            // The dashboard shows a store outage at once instead of riding it out.
            store: store instanceof ResilientStore ? store.inner : store,
            run: config.run,
            queuePrefix: config.queues.prefix,
            port: opts.port,
            host: opts.host,
            ...(token !== undefined ? { token } : {}),
          });
          process.stderr.write(`dashboard: ${dashboard.url}\n`);
        }
        if (first.plan !== undefined) {
          // The run's lease is held now: check the changes again against the checkpoint as it
          // is now (a predecessor may have written one while we waited), then record them.
          const { config: now, plan } = await trainRunConfig(opts, store);
          config = now;
          if (plan !== undefined)
            await recordResumeChanges(new RunStore(store, config.run), plan, { log: (m) => process.stderr.write(`${m}\n`) });
        }
      } catch (err) {
        await dashboard?.close();
        await executor.close();
        throw err;
      }
      const ac = new AbortController();
      const onSig = (): void => {
        if (ac.signal.aborted) process.exit(130);
        process.stderr.write('\nstopping after this round (checkpoint, then exit); Ctrl-C again to abort now\n');
        ac.abort();
      };
      process.on('SIGINT', onSig);
      process.on('SIGTERM', onSig);
      const reporter = roundReporter(config.train.rounds, 1);
      const shardProgress = progressReporter('shard');
      try {
        const result = await train({
          store,
          executor,
          config,
          ...(opts.resume === true ? { resume: true } : {}),
          log: (m) => process.stderr.write(`${m}\n`),
          onEvent: (e, s) => reporter.onEvent(e, s),
          onShardProgress: (p) => shardProgress.update(p),
          signal: ac.signal,
        });
        reporter.stop();
        if (opts.json === true) {
          process.stdout.write(
            `${JSON.stringify({ run: result.run, state: result.state, round: result.round, loss: result.loss, results: lastEvalRows(result.evals) })}\n`,
          );
        } else {
          process.stdout.write(`\nrun ${result.run}: ${result.state} at round ${result.round}, loss ${formatNumber(result.loss)}\n`);
          process.stdout.write(`${formatEvalTable(result)}\n`);
        }
      } finally {
        reporter.stop();
        shardProgress.stop();
        await executor.close();
        await dashboard?.close();
      }
    });
  return cmd;
}
