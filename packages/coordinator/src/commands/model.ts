import { atomizerParamTable, modelConfig, selectBackend, tokenDim, type BackendChoice, type ModelConfig } from '@atomizer/model';
import { parseRunConfig } from '@atomizer/protocol';
import { Command, Option } from 'commander';
import { backendOption } from './backend-option.js';
import { leafKey, leafOption, runConfigLeaf } from './run-config-options.js';
import { jsonOption } from './shared-options.js';
import { formatTable } from './table.js';

/** What `atomizer model` reports (the --json output). */
export interface ModelReport {
  preset: string;
  config: ModelConfig;
  /** Length of the flat weight array. */
  parameters: number;
  /** Floats per token (tokenizer encoding config). */
  tokenDim: number;
  backend: { requested: string; name: string; detail: string };
  /** Parameters per part of the network (latents, layer i, pool, head ...). */
  parts: Array<{ part: string; parameters: number }>;
}

function partOf(name: string): string {
  const m = /^layers\.(\d+)\./.exec(name);
  if (m !== null) return `layer ${m[1]}`;
  return name.split('.')[0] ?? name;
}

export async function modelReport(preset: string, backend: BackendChoice): Promise<ModelReport> {
  const config = modelConfig(preset);
  const table = atomizerParamTable(config);
  const parts = new Map<string, number>();
  for (const e of table.entries) parts.set(partOf(e.name), (parts.get(partOf(e.name)) ?? 0) + e.size);
  const info = await selectBackend(backend);
  return {
    preset,
    config,
    parameters: table.size,
    tokenDim: tokenDim(config),
    backend: { requested: info.requested, name: info.name, detail: info.detail },
    parts: [...parts].map(([part, parameters]) => ({ part, parameters })),
  };
}

export function formatModelReport(r: ModelReport): string {
  const c = r.config;
  const lines = [
    `Atomizer model, preset '${r.preset}'`,
    '',
    formatTable(
      ['setting', 'value'],
      [
        ['latents L x d', `${c.numLatents} x ${c.latentDim}`],
        ['depth', `${c.depth}${c.weightTying ? ' (layers 2..depth tied)' : ''}`],
        ['cross-attention', `${c.crossHeads} head(s) x ${c.crossHeadDim}`],
        ['self-attention', `${c.selfPerCross} block(s) per layer, ${c.selfHeads} heads x ${c.selfHeadDim}`],
        ['GEGLU', `d -> ${2 * c.ffMult}d -> gate -> ${c.ffMult}d -> d`],
        ['classes', `${c.numClasses} (${c.task === 'multi' ? 'multi-label, BCE' : 'single-label, softmax CE'})`],
        ['token dropout', c.tokenDropout ? `keep ${c.tokenDropoutKeep} per cross-attention` : 'off'],
        ['channel kinds', c.channelKinds.join(', ') || '-'],
        ['spectral encoding', `${c.encoding.spectral.mode}, ${c.encoding.spectral.rbfs.length} RBFs`],
      ],
    ),
    '',
    formatTable(
      ['part', 'parameters'],
      r.parts.map((p) => [p.part, p.parameters]),
    ),
    '',
    `parameters: ${r.parameters.toLocaleString('en-US')}`,
    `token dimension: ${r.tokenDim}`,
    `backend: ${r.backend.name} (${r.backend.detail})`,
  ];
  return lines.join('\n');
}

export interface ModelCliOptions {
  preset?: string;
  backend: BackendChoice;
  json?: boolean;
  [k: string]: unknown;
}

/** The preset and backend `atomizer model` reports on: --model-preset as train spells it (--preset, its old name, warned), else the run config default. */
export function modelSettings(
  opts: ModelCliOptions,
  warn: (line: string) => void,
): { preset: string; backend: BackendChoice; json: boolean } {
  const given = opts[leafKey(runConfigLeaf('model.preset'))] as string | undefined;
  if (opts.preset !== undefined) {
    if (given !== undefined && given !== opts.preset)
      throw new Error('give the model preset once: --model-preset (--preset is its old name)');
    warn('atomizer: model --preset is now --model-preset, as train and demo spell it; --preset will be removed');
  }
  return { preset: given ?? opts.preset ?? parseRunConfig({}).model.preset, backend: opts.backend, json: opts.json === true };
}

export function modelCommand(): Command {
  return new Command('model')
    .addOption(leafOption(runConfigLeaf('model.preset')))
    .addOption(new Option('--preset <name>', 'old name of --model-preset').hideHelp())
    .addOption(backendOption())
    .addOption(jsonOption('print a machine-readable JSON object instead of a table'))
    .addHelpText(
      'after',
      `
Presets: paper (paper scale, docs/model.md section 3; ~60 M parameters), small (CPU-sized), tiny (gradient checks).

Examples:
  $ atomizer model --model-preset paper
  $ atomizer model --model-preset small --backend wasm --json
  $ atomizer model --backend tensorflow-gpu     # fails with the reason when no GPU backend (docs/gpu.md)`,
    )
    .action(async (opts: ModelCliOptions) => {
      const { preset, backend, json } = modelSettings(opts, (line) => process.stderr.write(`${line}\n`));
      const report = await modelReport(preset, backend);
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatModelReport(report)}\n`);
    });
}
