import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { selectBackend } from '@atomizer/model';
import { ResilientStore, parseRunConfig, runConfigLeaves, setPath, type MetricEvent, type ObjectStore, type RunConfig, type RunStatus } from '@atomizer/protocol';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { startDashboard, type Dashboard } from '../dashboard/index.js';
import { BullMQExecutor, InProcessExecutor, planResumeChanges, recordResumeChanges, train, withRunId, type Executor, type ResumePlan, type TrainResult } from '../engine/index.js';
import { lastEvalRows } from '../baselines.js';
import { PRESET_NAMES, presetPath, resolveBundledData } from '../presets.js';
import { RunStore } from '../run-store.js';
import { dashboardTokenOption, givenDashboardToken } from './dashboard-token.js';
import { addEndpointOptions, checkEndpoints, queuesOf, storeFrom, type EndpointOptions } from './endpoints.js';
import { progressReporter } from './shard.js';
import { formatNumber, formatTable } from './table.js';

// `atomizer train`: the coordinator. Every run-config value has a flag (from
// the schema in @atomizer/protocol), a YAML/JSON file may set them, flags win.
// With --resume the run's stored config is the base and the values given are changes.

/**
 * Read a run config file (YAML or JSON; a bundled preset name such as
 * 'statlog' also works). Relative paths: dataset.modalities from the file's
 * folder, dataset.source's '../shared/data/' to the bundled data folder, other
 * relative dataset paths from the working directory.
 */
export async function readRunConfigFile(nameOrPath: string): Promise<Record<string, unknown>> {
  const path = (PRESET_NAMES as readonly string[]).includes(nameOrPath) ? presetPath(nameOrPath) : resolve(nameOrPath);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new Error(`${path}: cannot read the run config (${err instanceof Error ? err.message : String(err)})`);
  });
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: a run config must be a mapping of sections (dataset, model, train, ...)`);
  const cfg = raw as { dataset?: { modalities?: unknown; source?: unknown } };
  if (typeof cfg.dataset?.modalities === 'string' && cfg.dataset.modalities !== '' && !isAbsolute(cfg.dataset.modalities)) {
    cfg.dataset.modalities = resolve(dirname(path), cfg.dataset.modalities);
  }
  if (typeof cfg.dataset?.source === 'string') cfg.dataset.source = resolveBundledData(cfg.dataset.source);
  parseRunConfig(raw, path); // report every wrong field with the file's name now
  return raw as Record<string, unknown>;
}

function parseBool(flag: string, v: string | boolean | undefined): boolean {
  if (v === undefined || v === true) return true;
  if (v === false) return false;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new Error(`${flag} takes true or false, got '${v}'`);
}

/** The config flags, one per run-config leaf; no commander defaults, so only flags given override the file. */
export function addRunConfigOptions(cmd: Command): Command {
  for (const leaf of runConfigLeaves()) {
    const key = leaf.flag.replace(/^--/, '');
    const dflt = `(default: ${JSON.stringify(leaf.defaultValue)})`;
    let opt: Option;
    if (leaf.kind === 'boolean') opt = new Option(`${leaf.flag} [bool]`, `${leaf.description} ${dflt}`);
    else if (leaf.kind === 'number') opt = new Option(`${leaf.flag} <n>`, `${leaf.description} ${dflt}`);
    else opt = new Option(`${leaf.flag} <value>`, `${leaf.description} ${dflt}`);
    if (leaf.choices !== undefined) opt = opt.choices([...leaf.choices]);
    opt.attributeName = () => `cfg:${key}`;
    cmd.addOption(opt);
  }
  return cmd;
}

/** What names the given config values in errors: the --config file, else the flags. */
function configSource(opts: Record<string, unknown>): string {
  return typeof opts.config === 'string' ? opts.config : 'run config flags';
}

/** The config values the user gave: the --config file's keys under the flags given; no defaults. */
export async function givenTrainConfig(opts: Record<string, unknown>): Promise<Record<string, unknown>> {
  const base = typeof opts.config === 'string' ? await readRunConfigFile(opts.config) : {};
  for (const leaf of runConfigLeaves()) {
    const v = opts[`cfg:${leaf.flag.replace(/^--/, '')}`];
    if (v === undefined) continue;
    let value: unknown = v;
    if (leaf.kind === 'number') {
      value = Number(v);
      if (!Number.isFinite(value as number)) throw new Error(`${leaf.flag} takes a number, got '${String(v)}'`);
    } else if (leaf.kind === 'boolean') value = parseBool(leaf.flag, v as string | boolean);
    else if (leaf.path === 'dataset.source') value = resolveBundledData(String(v));
    else if (leaf.path === 'dataset.modalities' && v !== '') value = resolve(String(v));
    setPath(base, leaf.path, value);
  }
  return base;
}

/** Defaults < file < flags, validated. */
export async function resolveTrainConfig(opts: Record<string, unknown>): Promise<RunConfig> {
  return parseRunConfig(await givenTrainConfig(opts), configSource(opts));
}

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
    ? new SingleBar({ format: 'round {value}/{total} [{bar}] loss {loss} | lr {lr} | {sps} samples/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true })
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
    rows.map((e) => [e.split, e.modality, e.seen, e.samples, e.accuracy ?? Number.NaN, e.macroF1 ?? Number.NaN, e.mAP ?? Number.NaN, e.loss]),
  );
}

interface TrainCliOptions extends EndpointOptions {
  config?: string;
  resume?: boolean;
  executor: 'bullmq' | 'in-process';
  backend: string;
  json?: boolean;
  [k: string]: unknown;
}

export function trainCommand(): Command {
  const cmd = new Command('train');
  addEndpointOptions(cmd, { queues: false })
    .option('--config <file>', `run config YAML/JSON, or a bundled preset: ${PRESET_NAMES.join(', ')}`)
    .option(
      '--resume',
      'continue the run --run <id> from its latest checkpoint (same or different number of workers); flags and --config values that differ from the run are applied if a running run can take them (more rounds, learning-rate schedule, eval/checkpoint cadence, quorum, deadline) and refused otherwise',
    )
    .addOption(new Option('--executor <kind>', 'bullmq: workers in other processes; in-process: one process, no Redis').choices(['bullmq', 'in-process']).default('bullmq'))
    .addOption(new Option('--backend <name>', 'backend for --executor in-process').default('auto'))
    .option('--json', 'print the outcome as one JSON object: run, state, round, loss, the last evaluation rows (logs and progress go to stderr)')
    .option('--dashboard', 'also serve the dashboard for this run (training page, bull-board, /metrics)')
    .addOption(new Option('--port <n>', 'dashboard port with --dashboard (0: any free port)').default(8080).argParser((v) => Number(v)))
    .addOption(new Option('--host <addr>', 'dashboard interface with --dashboard (beyond loopback needs --token)').default('127.0.0.1'))
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
    .action(async (opts: TrainCliOptions) => {
      const store = storeFrom(opts);
      if (opts.executor !== 'in-process') await checkEndpoints(opts, store);
      if (opts.dashboard === true && opts.executor === 'in-process') {
        throw new Error('--dashboard needs Redis (the default --executor bullmq); for an in-process run, start atomizer dashboard separately');
      }
      const first = await trainRunConfig(opts, store);
      let config = first.config;
      let executor: Executor;
      if (opts.executor === 'in-process') {
        const info = await selectBackend(opts.backend as 'auto', () => undefined);
        executor = new InProcessExecutor(store, info.name);
      } else {
        const q = queuesOf({ queuePrefix: config.queues.prefix, trainQueues: config.queues.train });
        executor = await BullMQExecutor.open({ redisUrl: opts.redis, run: config.run, queues: q, log: (m) => process.stderr.write(`${m}\n`) });
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
            port: opts.port as number,
            host: opts.host as string,
            ...(token !== undefined ? { token } : {}),
          });
          process.stderr.write(`dashboard: ${dashboard.url}\n`);
        }
        if (first.plan !== undefined) {
          // The run's lease is held now: check the changes again against the checkpoint as it
          // is now (a predecessor may have written one while we waited), then record them.
          const { config: now, plan } = await trainRunConfig(opts, store);
          config = now;
          if (plan !== undefined) await recordResumeChanges(new RunStore(store, config.run), plan, { log: (m) => process.stderr.write(`${m}\n`) });
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
          process.stdout.write(`${JSON.stringify({ run: result.run, state: result.state, round: result.round, loss: result.loss, results: lastEvalRows(result.evals) })}\n`);
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
