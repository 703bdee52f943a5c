// @atomizer/model (TensorFlow.js) is imported only when this command runs, so
// the other commands start without loading tfjs.
import type { BackendChoice, ModelConfig } from '@atomizer/model';
import { parseRunConfig } from '@atomizer/protocol';
import { Command } from 'commander';
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
  const { atomizerParamTable, modelConfig, selectBackend, tokenDim } = await import('@atomizer/model');
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

export function modelCommand(): Command {
  return new Command('model')
    .option('--preset <name>', 'model preset: paper (paper scale, docs/model.md section 3; ~60 M parameters), small (CPU-sized), tiny (gradient checks); default: the run config default', parseRunConfig({}).model.preset)
    .option('--backend <name>', 'tfjs backend: auto, tensorflow-gpu, tensorflow, wasm or cpu', 'auto')
    .option('--json', 'print a machine-readable JSON object instead of a table')
    .addHelpText(
      'after',
      `
Examples:
  $ atomizer model --preset paper
  $ atomizer model --preset small --backend wasm --json
  $ atomizer model --backend tensorflow-gpu     # fails with the reason when no GPU backend (docs/gpu.md)`,
    )
    .action(async (opts: { preset: string; backend: BackendChoice; json?: boolean }) => {
      const report = await modelReport(opts.preset, opts.backend);
      process.stdout.write(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatModelReport(report)}\n`);
    });
}
