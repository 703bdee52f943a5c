import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { commanderErrorLine, errorLine } from './cli-errors.js';
import { commandTerm, registerCommands } from './commands/index.js';

// The AWS SDK warns on every run under Node < 22 that FUTURE SDK releases will need
// Node 22; the locked SDK works on Node 20 (engines >=20), so the warning is noise
// in CLI output. Users can still opt back in by setting the variable to 'false'.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Started by bin/atomizer.js with an IPC channel: when the launcher dies, stop as on SIGTERM.
// The channel must not keep the process alive once the command is done.
if (process.send !== undefined) {
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/** The coordinator package's version (package.json beside src/ and dist/). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

const args = process.argv.slice(2);
const program = new Command()
  .name('atomizer')
  .description('Atomizer: train one remote-sensing model on imagery of any sensor, across many machines.')
  .version(packageVersion(), '-V, --version', 'print the version of atomizer')
  .configureHelp({ subcommandTerm: commandTerm });

const command = await registerCommands(program, args);

// Commander's own errors (unknown option, missing argument) are one line like ours, with
// the command's help hint. Subcommands added with addCommand do not inherit output settings.
for (const [cmd, path] of [[program, ''], ...(command !== undefined ? [[command, command.name()] as const] : [])] as const) {
  cmd.configureOutput({ outputError: (str, write) => write(commanderErrorLine(str, path)) });
}

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(errorLine(err, command?.name() ?? ''));
  if (process.env.ATOMIZER_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
