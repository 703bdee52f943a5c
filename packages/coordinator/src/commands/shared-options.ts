import { Option } from 'commander';
import { PRESET_NAMES } from '../presets.js';
import { positiveInt, positiveSeconds, tcpPort } from './option-values.js';

// The options several commands take, each defined once here: the same name, value, default
// and check wherever it appears (the endpoint options are in endpoints.ts, the dashboard's
// --token in dashboard-token.ts, the backend in backend-option.ts, eval's and predict's
// --stats in normalisation.ts). A command passes what
// the option means for it where the wording differs (`what`).

/** `--json`: the result as one JSON object on stdout (logs and progress stay on stderr). */
export function jsonOption(what = 'print the result as one JSON object (logs and progress go to stderr)'): Option {
  return new Option('--json', what);
}

/** `--run <id>`: the run a command reads (runs/<id>/ in the store); mandatory unless `optional` says what it defaults to. */
export function runOption(what: string, optional?: string): Option {
  const opt = new Option('--run <id>', optional !== undefined ? `${what} (default: ${optional})` : what);
  return optional !== undefined ? opt : opt.makeOptionMandatory();
}

/** `--checkpoint <latest|round>`: which checkpoint of the run. */
export function checkpointOption(): Option {
  return new Option('--checkpoint <latest|round>', "'latest' (sha256 checked against checkpoints/latest.json) or a round number").default(
    'latest',
  );
}

/** `--config <file>`: a run config file or a bundled preset; `dflt` when the command has one. */
export function configOption(dflt?: string): Option {
  const opt = new Option('--config <file>', `run config YAML/JSON, or a bundled preset: ${PRESET_NAMES.join(', ')}`);
  return dflt !== undefined ? opt.default(dflt) : opt;
}

/** `--dataset <kind:path>`: a dataset as the tokenizer's readers take it. */
export function datasetOption(what: string): Option {
  return new Option(
    '--dataset <kind:path>',
    `${what}: bigearthnet:<folder>, statlog:<csv>, geotiff:<file or folder>, scene:<tif>, stac:<item.json or folder of items>, with reader options after '?'`,
  ).makeOptionMandatory();
}

/** `--sensor <id>`: the sensor of an image whose file does not tell. */
export function sensorOption(): Option {
  return new Option('--sensor <id>', 'sensor id or alias of the input when its file does not say (e.g. landsat-8, s2a)');
}

/** `--bands <names>`: band names in file order, comma-separated, for files that do not name them. */
export function bandsOption(): Option {
  return new Option(
    '--bands <names>',
    'band names in file order, comma-separated, when the file does not name them (e.g. B1,B2,B3,B4,B5,B7)',
  );
}

/** The comma-separated list of --bands / --queues as names. */
export function nameList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `--port <n>`: the dashboard's TCP port; `when` says when it applies (e.g. 'with --dashboard'). */
export function portOption(when?: string): Option {
  return new Option('--port <n>', `${when !== undefined ? `${when}: ` : ''}dashboard TCP port (0: a free one)`)
    .default(8080)
    .argParser(tcpPort('--port'));
}

/** `--host <address>`: the dashboard's interface. */
export function hostOption(when?: string): Option {
  return new Option(
    '--host <address>',
    `${when !== undefined ? `${when}: ` : ''}dashboard interface to listen on; anything but 127.0.0.1, localhost or ::1 needs a token`,
  ).default('127.0.0.1');
}

/** `--workers <n>`: CPU worker processes on this machine. */
export function workersOption(when?: string): Option {
  return new Option('--workers <n>', `worker processes${when !== undefined ? ` ${when}` : ''}`)
    .default(2)
    .argParser(positiveInt('--workers'));
}

/** `--queues <names>`: the queues a worker serves. */
export function queuesOption(): Option {
  return new Option(
    '--queues <names>',
    'comma-separated queues each worker serves (default: every train queue and the eval queue of --queue-prefix)',
  );
}

/** `--lock-seconds <s>`: a worker's job lock. */
export function lockSecondsOption(): Option {
  return new Option('--lock-seconds <s>', "job lock duration: a dead worker's job is retried after about this long")
    .default(30)
    .argParser(positiveSeconds('--lock-seconds'));
}
