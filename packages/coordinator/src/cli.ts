import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

const program = new Command()
  .name('atomizer')
  .description('Atomizer: train one remote-sensing model on imagery of any sensor, across many machines.')
  .showHelpAfterError('(run with --help for usage)');

registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`atomizer: ${message}\n`);
  if (process.env.ATOMIZER_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
