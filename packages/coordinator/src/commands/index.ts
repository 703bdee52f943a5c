import { Command, Help } from 'commander';

// Every subcommand of `atomizer`, one file each in this folder, listed here with what it
// does. A command's module (and what it imports: TensorFlow.js, the AWS SDK, BullMQ ...)
// is loaded only when that command runs or shows its help, so `atomizer --help` and a
// command start without loading the others.

export interface CommandEntry {
  name: string;
  /** One line: what the command does (the listing of `atomizer --help` and the command's own help). */
  summary: string;
  /** Positional arguments, as in its usage line (e.g. '<path>'). */
  args?: string;
  load: () => Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  // tokenizer commands: demo, atoms, shard
  {
    name: 'demo',
    summary: 'Train on the bundled real data on this machine: Redis, S3, workers, training, evaluation on unseen modalities, dashboard',
    load: async () => (await import('./demo.js')).demoCommand(),
  },
  {
    name: 'atoms',
    summary: 'Show how an image breaks down into atoms: its bands, their metadata, and the atom count',
    args: '<path>',
    load: async () => (await import('./atoms.js')).atomsCommand(),
  },
  {
    name: 'shard',
    summary: 'Read a dataset, compute train-split band statistics and write shards + manifest.json to a folder or S3',
    load: async () => (await import('./shard.js')).shardCommand(),
  },
  // model commands: model
  {
    name: 'model',
    summary: 'Show a model preset: its config, parameter count, token dimension and the tfjs backend in use',
    load: async () => (await import('./model.js')).modelCommand(),
  },
  // distributed training: coordinator and worker
  {
    name: 'train',
    summary: 'Run the coordinator: shard if needed, train in rounds over BullMQ workers, checkpoint, evaluate',
    load: async () => (await import('./train.js')).trainCommand(),
  },
  {
    name: 'worker',
    summary: 'Pull training and evaluation jobs from Redis, compute them, upload results to the store',
    load: async () => (await import('./worker.js')).workerCommand(),
  },
  {
    name: 'launch',
    summary: 'Start and supervise worker processes: one per GPU (--gpus) or N on CPU (--workers)',
    load: async () => (await import('./launch.js')).launchCommand(),
  },
  // evaluating, applying, exporting and reporting on a run: any checkpoint on any dataset, maps of scenes, PyTorch, plots
  {
    name: 'eval',
    summary: "Score a run's checkpoint on any dataset the tokenizer reads (other sensors too), per modality, tagged seen/unseen",
    load: async () => (await import('./eval.js')).evalCommand(),
  },
  {
    name: 'predict',
    summary: "Map a scene with a run's checkpoint: a Cloud-Optimized GeoTIFF of class ids (or per-class probabilities) on the scene's grid",
    load: async () => (await import('./predict.js')).predictCommand(),
  },
  {
    name: 'export',
    summary: "Write a run's checkpoint as a PyTorch model: state_dict safetensors, a self-contained torch module, config.json, README",
    load: async () => (await import('./export.js')).exportCommand(),
  },
  {
    name: 'report',
    summary:
      "Write a run's report: summary, evaluation table and PNG plots (loss/lr, seen vs unseen accuracy, throughput) as HTML or Markdown",
    load: async () => (await import('./report.js')).reportCommand(),
  },
  // watching a run: training page, bull-board, Prometheus
  {
    name: 'dashboard',
    summary: 'Serve the training page (status, curves, evaluation, workers; live), bull-board for the queues and Prometheus /metrics',
    load: async () => (await import('./dashboard.js')).dashboardCommand(),
  },
];

/** The command `atomizer <args>` runs or shows help for (`atomizer help <cmd>` too), if any. */
export function invokedCommand(args: readonly string[]): CommandEntry | undefined {
  // The program's own options (--help, --version) take no value: the first word is the command.
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.find((c) => c.name === name);
}

/** A command with its summary, loaded. */
export async function loadCommand(entry: CommandEntry): Promise<Command> {
  return (await entry.load()).description(entry.summary);
}

/**
 * Add every command to `program`: the one `args` invokes loaded in full, the others as
 * their name and summary only (enough for the listing and for "did you mean ...?").
 * Returns the loaded command.
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<Command | undefined> {
  const invoked = invokedCommand(args);
  let loaded: Command | undefined;
  for (const entry of COMMANDS) {
    if (entry === invoked) {
      loaded = await loadCommand(entry);
      program.addCommand(loaded);
    } else {
      const placeholder = new Command(entry.name).description(entry.summary);
      if (entry.args !== undefined) placeholder.arguments(entry.args);
      program.addCommand(placeholder);
    }
  }
  return loaded;
}

/**
 * A command as `atomizer --help` lists it: 'train [options]', 'atoms [options] <path>'.
 * Commander omits [options] for a command whose options are not defined yet (not loaded).
 */
export function commandTerm(cmd: Command): string {
  const entry = COMMANDS.find((c) => c.name === cmd.name());
  if (entry === undefined) return new Help().subcommandTerm(cmd);
  return `${entry.name} [options]${entry.args !== undefined ? ` ${entry.args}` : ''}`;
}
