import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { TORCH_EXPORT_FORMAT, TORCH_MODULE_PATH, encodeSafetensors, paramCount, tokenDim, torchStateDict } from '@atomizer/model';
import type { ObjectStore } from '@atomizer/protocol';
import { checkStore } from './endpoints.js';
import { loadRunCheckpoint, openRun } from './eval-checkpoint.js';

// `atomizer export`: a stored checkpoint of a run as a PyTorch model folder:
//   model.safetensors   the weights as a state_dict (torch names, nn.Linear layouts)
//   atomizer_model.py   the network in torch (packages/model/python), self-contained
//   config.json         the model config, classes, band statistics, provenance
//   README.md           how to load it (three lines) and what forward() takes
// The run and checkpoint are found as `atomizer eval` finds them (sha256 checked
// against latest.json, model config against the run's). The folder is written
// under a temporary name and renamed: a partial export never has the final name.

export const EXPORT_FORMATS = ['pytorch'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRunOptions {
  store: ObjectStore;
  run: string;
  /** 'latest' or a round number. */
  checkpoint?: string;
  /** The folder to create (must not exist, or be empty). */
  out: string;
  format?: ExportFormat;
}

export interface ExportRunResult {
  run: string;
  checkpoint: { round: number; key: string; sha256: string; verified: boolean };
  out: string;
  format: ExportFormat;
  files: string[];
  params: number;
  classes: string[];
}

/** The README written into an export: the three lines that load it, and what the model takes. */
export function exportReadme(run: string, round: number, classes: readonly string[], task: 'single' | 'multi'): string {
  return `# Atomizer run ${run}, checkpoint round ${round}, in PyTorch

Written by \`atomizer export\`. Needs only PyTorch (Debian \`python3-torch\`, or \`pip install torch\`).

\`\`\`python
import sys; sys.path.insert(0, "path/to/this/folder")
import atomizer_model
model = atomizer_model.load("path/to/this/folder")   # eval mode; model.classes = the class names
\`\`\`

\`model(atoms)\` returns logits [B, ${classes.length}] (${task === 'multi' ? 'multi-label: sigmoid per class' : 'single-label: softmax over classes'})
for a batch of atoms, the tensors the TypeScript model takes (an AtomBatch): \`value\`,
\`band\`, \`x\`, \`y\`, \`mask\` [B, N], \`doy\` [B] (NaN when unknown) and \`bands\`, the
batch's band table (see \`Atomizer.forward\`). Values are z-scored with the band
statistics of \`config.json\` (\`normalisation.bands\`), as the run did.

Classes: ${classes.join(', ')}.

Fine-tuning: \`model.train()\`, any optimizer over \`model.parameters()\`, your loss on
\`model(atoms)\`; \`model.state_dict()\` keeps the names of \`model.safetensors\`.
`;
}

/** Write the export folder of a run's checkpoint (see the file comment). */
export async function exportRun(opts: ExportRunOptions): Promise<ExportRunResult> {
  const format = opts.format ?? 'pytorch';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`export format ${String(format)} is not supported; expected one of: ${EXPORT_FORMATS.join(', ')}`);
  }
  const out = resolve(opts.out);
  let existing: string[] | undefined;
  try {
    existing = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new Error(`--out ${opts.out} is a file; give a folder to create`);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined && existing.length > 0) {
    throw new Error(
      `--out ${opts.out} already exists and is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); give a new folder or remove it`,
    );
  }
  await checkStore(opts.store);
  const ctx = await openRun(opts.store, opts.run);
  const ck = await loadRunCheckpoint(opts.store, ctx, opts.checkpoint ?? 'latest');
  const cfg = ctx.model;
  const classes = [...ctx.manifest.classes];
  const provenance = {
    run: opts.run,
    round: String(ck.round),
    checkpoint: ck.key,
    'checkpoint.sha256': ck.sha256,
    format: TORCH_EXPORT_FORMAT,
  };
  const config = {
    format: TORCH_EXPORT_FORMAT,
    run: opts.run,
    checkpoint: { round: ck.round, key: ck.key, sha256: ck.sha256, verified: ck.verified },
    classes,
    task: cfg.task,
    tokenDim: tokenDim(cfg),
    params: paramCount(cfg),
    model: cfg,
    maxAtoms: ctx.config.train.maxAtoms,
    normalisation: {
      strategy: ctx.config.dataset.normalisation,
      bands: [...ctx.stats.values()].map((s) => ({ key: s.key, mean: s.mean, std: s.std })).sort((a, b) => (a.key < b.key ? -1 : 1)),
    },
  };
  let module: string;
  try {
    module = await readFile(TORCH_MODULE_PATH, 'utf8');
  } catch (err) {
    throw new Error(`${TORCH_MODULE_PATH}: the PyTorch module cannot be read (${(err as Error).message}); reinstall @atomizer/model`);
  }
  const files: Array<[string, string | Uint8Array]> = [
    ['model.safetensors', encodeSafetensors(torchStateDict(cfg, ck.weights), provenance)],
    ['atomizer_model.py', module],
    ['config.json', `${JSON.stringify(config, null, 2)}\n`],
    ['README.md', exportReadme(opts.run, ck.round, classes, cfg.task)],
  ];
  const staging = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    for (const [name, data] of files) await writeFile(join(staging, name), data);
    if (existing !== undefined) await rmdir(out);
    await rename(staging, out);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return {
    run: opts.run,
    checkpoint: { round: ck.round, key: ck.key, sha256: ck.sha256, verified: ck.verified },
    out,
    format,
    files: files.map(([n]) => n),
    params: config.params,
    classes,
  };
}
