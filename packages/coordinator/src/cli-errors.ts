import { z } from 'zod';

// Every error of the `atomizer` command is one line on stderr: 'atomizer: ', what was
// wrong, and a hint (the command's --help) when the message does not already point at
// it. Commander's own errors (unknown option, missing value, "Did you mean ...?"), ours
// (a multi-line config error lists one problem per line) and zod's go through here.

/** `atomizer train --help`, or `atomizer --help` for the program itself. */
export function helpHint(commandPath: string): string {
  return `see atomizer ${commandPath === '' ? '' : `${commandPath} `}--help`;
}

/** A message as one line: its lines trimmed and joined with '; ' (after a line ending in ':' with a space). */
export function oneLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  let out = '';
  for (const line of lines) {
    if (out === '') out = line;
    else out += out.endsWith(':') ? ` ${line}` : `; ${line}`;
  }
  return out;
}

function withHint(message: string, commandPath: string): string {
  return message.includes('--help') ? message : `${message} (${helpHint(commandPath)})`;
}

/**
 * Commander's error text ("error: unknown option '--x'\n(Did you mean --y?)\n") as our line:
 * "atomizer: unknown option '--x'; did you mean --y? (see atomizer train --help)".
 */
export function commanderErrorLine(text: string, commandPath: string): string {
  const message = text.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)/, (_m, names: string) => `; did you mean ${names}?`);
  return `atomizer: ${withHint(oneLine(message), commandPath)}\n`;
}

/** Any error thrown by a command as our line; zod's with z.prettifyError, a stack only with ATOMIZER_DEBUG. */
export function errorLine(err: unknown, commandPath: string): string {
  let message: string;
  if (err instanceof z.ZodError)
    message = `invalid input: ${z
      .prettifyError(err)
      .replace(/✖ /g, '')
      .replace(/\n\s+→ at /g, ' at ')}`;
  else if (err instanceof Error) message = err.message;
  else message = String(err);
  return `atomizer: ${withHint(oneLine(message), commandPath)}\n`;
}
