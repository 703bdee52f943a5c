import { Command } from 'commander';
import { addEndpointOptions, checkStore, storeFrom, type EndpointOptions } from './endpoints.js';
import { exportRun } from './export-run.js';
import { checkpointOption, jsonOption, runOption } from './shared-options.js';

// `atomizer export`: a run's checkpoint as a PyTorch model folder (export-run.ts).

export interface ExportCliOptions extends Pick<EndpointOptions, 's3' | 's3Endpoint'> {
  run: string;
  checkpoint: string;
  out: string;
  json?: boolean;
}

export function exportCommand(): Command {
  const cmd = new Command('export');
  addEndpointOptions(cmd, { queues: false, redis: false })
    .addOption(runOption('the run whose stored config and checkpoint to export'))
    .addOption(checkpointOption())
    .requiredOption('--out <dir>', 'folder to create (must not exist, or be empty)')
    .addOption(jsonOption('print the result as one JSON object'))
    .addHelpText(
      'after',
      `
The folder holds model.safetensors (PyTorch state_dict names, nn.Linear layouts),
atomizer_model.py (the network and its input encodings in torch, no other
dependency), config.json (model config, classes, band statistics) and a README
with the three lines that load it:

  import sys; sys.path.insert(0, "<dir>")
  import atomizer_model
  model = atomizer_model.load("<dir>")

Examples:
  $ atomizer export --run statlog-20261127-101500 --out statlog-torch --s3 /tmp/atomizer-store
  $ atomizer export --run statlog-20261127-101500 --checkpoint 500 --out statlog-r500 --json`,
    )
    .action(async (opts: ExportCliOptions) => {
      const { exporting, json } = exportSettings(opts);
      const store = await storeFrom(opts);
      await checkStore(store);
      const r = await exportRun({ store, ...exporting });
      process.stdout.write(
        json
          ? `${JSON.stringify(r)}\n`
          : `run ${r.run}, checkpoint round ${r.checkpoint.round} (${r.checkpoint.key}) -> ${r.out}: ${r.files.join(', ')}; ${r.params.toLocaleString('en-US')} parameters, classes ${r.classes.join(', ')}\n`,
      );
    });
  return cmd;
}

/** What export does, from its options (the store from the endpoint options). */
export function exportSettings(opts: ExportCliOptions): { exporting: { run: string; checkpoint: string; out: string }; json: boolean } {
  return { exporting: { run: opts.run, checkpoint: opts.checkpoint, out: opts.out }, json: opts.json === true };
}
