import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type EvalEvent, type MetricEvent, type ObjectStore, type RoundEvent, type RunStatus, type StoredRun } from '@atomizer/protocol';
import { Command, Option } from 'commander';
import { RunStore, runNotInStoreError } from '../run-store.js';
import { addEndpointOptions, checkStore, storeFrom, type EndpointOptions } from './endpoints.js';
import { jsonOption, runOption } from './shared-options.js';
import { refuseUnusedOptions, type OptionRule } from './unused-options.js';
import { evalBarsPlot, evalHistoryPlot, headlineMetric, lossLrPlot, roundTimePlot, throughputPlot, type Plot } from './report-plots.js';
import { formatNumber } from './table.js';

// `atomizer report`: a run's config.json, status.json and metrics.jsonl turned
// into one folder a person can open: index.html (or report.md) with PNG plots
// beside it (or inside it, --inline) and the tables behind them. Only what the
// run recorded is shown, and no time of writing, so the same run gives the
// same report.

export interface RunArtifacts {
  run: string;
  stored: StoredRun;
  status: RunStatus | undefined;
  events: MetricEvent[];
}

/** Read what a report needs; a run not in the store, or one without metrics, is an error saying what to do. */
export async function readRunArtifacts(store: ObjectStore, run: string): Promise<RunArtifacts> {
  await checkStore(store);
  const rs = new RunStore(store, run);
  let stored: StoredRun | undefined;
  try {
    stored = await rs.config();
  } catch (err) {
    // The message names the key and the store.
    throw new Error(`not a valid stored run: ${(err as Error).message}`);
  }
  if (stored === undefined) throw await runNotInStoreError(store, run);
  const events = await rs.metrics();
  if (events === undefined)
    throw new Error(`run '${run}' has no ${rs.keys.metrics} yet: it has not started a round; report it once it has`);
  return { run, stored, status: await rs.status(), events };
}

export interface ReportData {
  rounds: RoundEvent[];
  evals: EvalEvent[];
  lastEvals: EvalEvent[];
}

/** Rounds (the last of each number, as a resumed run may log one twice) and evaluations. */
export function reportData(a: RunArtifacts): ReportData {
  const byRound = new Map<number, RoundEvent>();
  for (const e of a.events) if (e.type === 'round') byRound.set(e.round, e);
  const rounds = [...byRound.values()].sort((x, y) => x.round - y.round);
  const evalMap = new Map<string, EvalEvent>();
  for (const e of a.events) if (e.type === 'eval') evalMap.set(`${e.round}|${e.split}|${e.modality}`, e);
  const evals = [...evalMap.values()];
  const last = evals.length > 0 ? Math.max(...evals.map((e) => e.round)) : -1;
  return { rounds, evals, lastEvals: evals.filter((e) => e.round === last) };
}

/** Every plot the data allows, in reading order. */
export async function reportPlots(d: ReportData): Promise<Plot[]> {
  const plots: Plot[] = [];
  if (d.rounds.length > 0) plots.push(await lossLrPlot(d.rounds));
  if (d.lastEvals.some((e) => headlineMetric(e) !== undefined)) plots.push(await evalBarsPlot(d.lastEvals));
  if (new Set(d.evals.map((e) => e.round)).size > 1) plots.push(await evalHistoryPlot(d.evals));
  if (d.rounds.length > 0) {
    plots.push(await throughputPlot(d.rounds));
    plots.push(await roundTimePlot(d.rounds));
  }
  return plots;
}

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

type Cell = string | number;
interface Table {
  header: string[];
  rows: Cell[][];
}

const cell = (c: Cell): string => (typeof c === 'number' ? formatNumber(c) : c);

/** The run at a glance: config, state, loss, throughput. */
export function summaryTable(a: RunArtifacts, d: ReportData): Table {
  const cfg = a.stored.config;
  const first = d.rounds[0];
  const last = d.rounds.at(-1);
  const computeShare = d.rounds.map((r) => (r.wallMs > 0 ? r.slowestComputeMs / r.wallMs : Number.NaN)).filter(Number.isFinite);
  const rows: Cell[][] = [
    ['dataset', `${cfg.dataset.name} (${a.stored.manifestKey})`],
    [
      'model',
      `${cfg.model.preset}${cfg.model.overrides !== '' ? ` ${cfg.model.overrides}` : ''}, ${a.stored.params.toLocaleString('en-US')} parameters`,
    ],
    [
      'training',
      `${cfg.train.mode}, ${cfg.train.slices} slices x ${cfg.train.sliceSamples} samples, peak lr ${cfg.train.lr}, seed ${cfg.seed}`,
    ],
    ['modalities', `train ${listNames(a.stored.modalities.train)}; test ${listNames(a.stored.modalities.test)}`],
    [
      'state',
      a.status === undefined
        ? '(no status.json)'
        : `${a.status.state} at round ${a.status.round} of ${a.status.rounds}${a.status.message !== undefined ? ` (${a.status.message})` : ''}`,
    ],
  ];
  if (first !== undefined && last !== undefined) {
    rows.push(['loss', `${formatNumber(first.loss)} (round ${first.round}) -> ${formatNumber(last.loss)} (round ${last.round})`]);
    rows.push(['samples / s', `median ${formatNumber(median(d.rounds.map((r) => r.samplesPerSecond)))} over ${d.rounds.length} rounds`]);
    rows.push([
      'round time',
      `median wall ${formatNumber(median(d.rounds.map((r) => r.wallMs)))} ms, slowest compute ${formatNumber(median(d.rounds.map((r) => r.slowestComputeMs)))} ms (median compute share ${(100 * median(computeShare)).toFixed(1)}%)`,
    ]);
  }
  return { header: ['', ''], rows };
}

function listNames(list: ReadonlyArray<unknown>): string {
  if (list.length === 0) return '-';
  return list.map((m) => (typeof m === 'string' ? m : String((m as { name?: unknown }).name))).join(', ');
}

/** The last evaluation, one row per split x modality. */
export function evalTable(d: ReportData): Table {
  return {
    header: ['split', 'modality', 'seen', 'samples', 'accuracy', 'mAP', 'macro F1', 'loss'],
    rows: d.lastEvals.map((e) => [e.split, e.modality, e.seen, e.samples, e.accuracy ?? '-', e.mAP ?? '-', e.macroF1 ?? '-', e.loss]),
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function htmlTable(t: Table, headless = false): string {
  const head = headless ? '' : `<thead><tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`;
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (headless && i === 0 ? `<th>${esc(cell(c))}</th>` : `<td${typeof c === 'number' ? ' class="n"' : ''}>${esc(cell(c))}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table>${head}<tbody>\n${body}\n</tbody></table>`;
}

function mdTable(t: Table): string {
  const row = (r: Cell[]) => `| ${r.map((c) => cell(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [row(t.header), `|${t.header.map(() => '---').join('|')}|`, ...t.rows.map(row)].join('\n');
}

export interface WriteReportOptions {
  out: string;
  format: 'html' | 'md';
  /** HTML only: PNGs as data URIs inside index.html instead of files beside it. */
  inline?: boolean;
}

export interface WrittenReport {
  /** The report file (index.html or report.md). */
  file: string;
  /** PNG files written beside it (none when inlined). */
  images: string[];
  plots: Plot[];
}

/** Write the report folder. */
export async function writeReport(a: RunArtifacts, opts: WriteReportOptions): Promise<WrittenReport> {
  const d = reportData(a);
  const plots = await reportPlots(d);
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  const images: string[] = [];
  const inline = opts.format === 'html' && opts.inline === true;
  if (!inline) {
    for (const p of plots) {
      const f = join(out, p.file);
      await writeFile(f, p.png);
      images.push(f);
    }
  }
  const summary = summaryTable(a, d);
  const evals = evalTable(d);
  const evalRound = d.lastEvals[0]?.round;
  let file: string;
  if (opts.format === 'md') {
    const parts = [
      `# Atomizer run ${a.run}`,
      '',
      mdTable({ header: ['run', a.run], rows: summary.rows }),
      '',
      evalRound !== undefined
        ? `## Evaluation at round ${evalRound}\n\n${mdTable(evals)}\n`
        : '## Evaluation\n\n(no evaluation logged yet)\n',
      '## Plots',
      '',
      ...plots.flatMap((p) => [`### ${p.title}`, '', `![${p.alt}](${p.file})`, '']),
    ];
    file = join(out, 'report.md');
    await writeFile(file, `${parts.join('\n').trimEnd()}\n`);
  } else {
    const src = (p: Plot) => (inline ? `data:image/png;base64,${Buffer.from(p.png).toString('base64')}` : p.file);
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Atomizer run ${esc(a.run)}</title>
<style>
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 760px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; }
img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
</style>
</head>
<body>
<h1>Atomizer run ${esc(a.run)}</h1>
${htmlTable(summary, true)}
<h2>Evaluation${evalRound !== undefined ? ` at round ${evalRound}` : ''}</h2>
${evalRound !== undefined ? htmlTable(evals) : '<p>(no evaluation logged yet)</p>'}
<h2>Plots</h2>
${plots.map((p) => `<figure>\n<img src="${src(p)}" alt="${esc(p.alt)}" width="${p.width / 2}" height="${p.height / 2}">\n<figcaption>${esc(p.title)}</figcaption>\n</figure>`).join('\n')}
</body>
</html>
`;
    file = join(out, 'index.html');
    await writeFile(file, html);
  }
  return { file, images, plots };
}

export interface ReportCliOptions extends Pick<EndpointOptions, 's3' | 's3Endpoint'> {
  run: string;
  out?: string;
  format: 'html' | 'md';
  inline?: boolean;
  json?: boolean;
}

export function reportCommand(): Command {
  const cmd = new Command('report');
  addEndpointOptions(cmd, { queues: false, redis: false, outage: false })
    .addOption(runOption('the run to report (runs/<id>/ in the store)'))
    .option('--out <dir>', 'folder to write (default: ./report-<run>)')
    .addOption(new Option('--format <format>', 'html (index.html) or md (report.md)').choices(['html', 'md']).default('html'))
    .option('--inline', 'html: put the PNGs inside index.html as data URIs (one file to send)')
    .addOption(jsonOption('print what was written as one JSON object: the report file and each plot (file, size, title)'))
    .addHelpText(
      'after',
      `
Reads runs/<run>/config.json, status.json and metrics.jsonl. Plots are PNG files
rendered without a browser (Vega-Lite -> SVG -> resvg), the same bytes for the same run.

Examples:
  $ atomizer report --run statlog-20261127-101500 --s3 /tmp/atomizer-store
  $ atomizer report --run statlog-20261127-101500 --format md --out docs/run-report`,
    )
    .action(async (opts: ReportCliOptions, command: Command) => {
      const { writing, json } = reportSettings(opts, command);
      const store = await storeFrom(opts);
      const artifacts = await readRunArtifacts(store, opts.run);
      const written = await writeReport(artifacts, writing);
      if (json) {
        process.stdout.write(
          `${JSON.stringify({ run: opts.run, file: written.file, plots: written.plots.map((p) => ({ file: p.file, width: p.width, height: p.height, title: p.title })) })}\n`,
        );
        return;
      }
      process.stdout.write(`${written.file}\n${written.plots.map((p) => `  ${p.file} (${p.width}x${p.height}): ${p.title}`).join('\n')}\n`);
    });
  return cmd;
}

const REPORT_OPTION_RULES: ReadonlyArray<OptionRule<ReportCliOptions>> = [
  { option: 'inline', applies: (o) => o.format === 'html', when: 'with --format html' },
];

/** What report writes, from its options (the store from the endpoint options); --inline without HTML is refused. */
export function reportSettings(opts: ReportCliOptions, command: Command): { writing: WriteReportOptions; json: boolean } {
  refuseUnusedOptions(command, opts, REPORT_OPTION_RULES);
  return {
    writing: { out: opts.out ?? `report-${opts.run}`, format: opts.format, ...(opts.inline === true ? { inline: true } : {}) },
    json: opts.json === true,
  };
}
